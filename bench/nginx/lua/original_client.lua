-- A small per-request ZooKeeper client on ngx.socket.tcp that does what the ORIGINAL pure-Lua
-- lua-resty-zookeeper does for one read (shared/compat.md, seed/seed.txt): connect a cosocket,
-- write the ConnectRequest by hand, read the ConnectResponse, write one GetData, read its
-- reply, write closeSession and read its reply, close the socket. One request in flight at a
-- time; every reply read as receive(4) for the length, then receive(length) for the payload.
-- Integers are packed with arithmetic and string.char (the original runs under plain Lua 5.1
-- too, so no `bit`, no FFI). It is the bench's stand-in for the original, for bench/nginx/run.sh
-- only: it implements the bench's one operation, nothing else.
--
-- Two of the original's defects are NOT reproduced, as they would not make it slower:
--   * the watch flag is one byte (Jute's boolean), not four;
--   * the ConnectResponse is read in the right order (protocolVersion, timeOut, sessionId,
--     passwd, readOnly).
--
--   local c = original.new{ timeout = 3000, session_timeout = 30000 }
--   local ok, err = c:connect("127.0.0.1", 2181)
--   local data, err = c:get_data("/path")   -- data, or nil, "node does not exist" / err
--   local ok, err = c:close()
local tcp = ngx.socket.tcp
local floor, char, byte, rep, format = math.floor, string.char, string.byte, string.rep, string.format
local setmetatable, tostring = setmetatable, tostring

local _M = {}
local mt = { __index = _M }

local OP_GET_DATA, OP_CLOSE_SESSION = 4, -11
local ZNONODE = -101

local function int32(v)
    if v < 0 then v = v + 4294967296 end
    return char(floor(v / 16777216) % 256, floor(v / 65536) % 256, floor(v / 256) % 256, v % 256)
end

local function int64(v) return int32(floor(v / 4294967296)) .. int32(v % 4294967296) end

local function uint32_at(s, i)
    local a, b, c, d = byte(s, i, i + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
end

local function int32_at(s, i)
    local v = uint32_at(s, i)
    if v >= 2147483648 then v = v - 4294967296 end
    return v
end

local function ustring(s) return int32(#s) .. s end
local function frame(payload) return int32(#payload) .. payload end

function _M.new(opts)
    opts = opts or {}
    return setmetatable({
        timeout = opts.timeout or 3000,
        session_timeout = opts.session_timeout or 30000,
        xid = 0,
    }, mt)
end

-- One length-prefixed frame.
local function read_frame(sock)
    local head, err = sock:receive(4)
    if not head then return nil, "receive length: " .. tostring(err) end
    local len = int32_at(head, 1)
    if len < 0 or len > 1048576 then return nil, "bad frame length " .. len end
    if len == 0 then return "" end
    local payload, perr = sock:receive(len)
    if not payload then return nil, "receive payload: " .. tostring(perr) end
    return payload
end

function _M.connect(self, host, port)
    local sock = tcp()
    sock:settimeout(self.timeout)
    local ok, err = sock:connect(host, port)
    if not ok then return nil, "connect failed: " .. tostring(err) end
    -- ConnectRequest: protocolVersion int32, lastZxidSeen int64, timeOut int32,
    -- sessionId int64, passwd buffer (16 zero bytes), readOnly bool
    local request = int32(0) .. int64(0) .. int32(self.session_timeout) .. int64(0)
        .. ustring(rep("\0", 16)) .. "\0"
    ok, err = sock:send(frame(request))
    if not ok then sock:close(); return nil, "connect failed: send: " .. tostring(err) end
    local resp
    resp, err = read_frame(sock)
    if not resp then sock:close(); return nil, "connect failed: " .. err end
    -- ConnectResponse: protocolVersion int32, timeOut int32, sessionId int64, passwd buffer, readOnly
    if #resp < 20 then sock:close(); return nil, "connect failed: short response (" .. #resp .. " bytes)" end
    local negotiated = int32_at(resp, 5)
    if negotiated <= 0 then sock:close(); return nil, "connect failed: session refused" end
    self.sock = sock
    self.session_timeout = negotiated
    self.session_id = format("0x%08x%08x", uint32_at(resp, 9), uint32_at(resp, 13))
    local plen = int32_at(resp, 17)
    self.session_passwd = plen > 0 and resp:sub(21, 20 + plen) or ""
    return true
end

-- Sends one request and reads its reply: err code, the reply (whole payload), or nil, err.
local function call(self, opcode, body)
    local sock = self.sock
    if not sock then return nil, "not connected" end
    self.xid = self.xid + 1
    local xid = self.xid
    local ok, err = sock:send(frame(int32(xid) .. int32(opcode) .. body))
    if not ok then return nil, "send: " .. tostring(err) end
    local reply
    reply, err = read_frame(sock)
    if not reply then return nil, err end
    -- ReplyHeader: xid int32, zxid int64, err int32
    if #reply < 16 then return nil, "short reply (" .. #reply .. " bytes)" end
    local rxid = int32_at(reply, 1)
    if rxid ~= xid then return nil, "unexpected xid " .. rxid .. " (expected " .. xid .. ")" end
    return int32_at(reply, 13), reply
end

function _M.get_data(self, path)
    -- GetDataRequest: path ustring, watch bool
    local code, reply = call(self, OP_GET_DATA, ustring(path) .. "\0")
    if not code then return nil, reply end
    if code == ZNONODE then return nil, "node does not exist" end
    if code ~= 0 then return nil, "zk error code: " .. code end
    -- GetDataResponse: data buffer (-1 = null), stat (not parsed, as the original)
    if #reply < 20 then return nil, "short reply" end
    local len = int32_at(reply, 17)
    if len <= 0 then return "" end
    if #reply < 20 + len then return nil, "short reply" end
    return reply:sub(21, 20 + len)
end

function _M.close(self)
    local sock = self.sock
    if not sock then return true end
    local code, err = call(self, OP_CLOSE_SESSION, "")
    self.sock = nil
    sock:close()
    if not code then return nil, "closeSession: " .. err end
    if code ~= 0 then return nil, "closeSession: zk error code: " .. code end
    return true
end

return _M
