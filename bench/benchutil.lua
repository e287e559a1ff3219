-- Helpers shared by the Lua benchmark peers (lua5.1 and luajit): clocks, CPU and RSS of this
-- process, percentiles and the one-line JSON result (see bench/run.sh for the convention).
local M = {}

local socket_ok, socket = pcall(require, "socket")
local has_ffi, ffi = pcall(require, "ffi")

if has_ffi then
    ffi.cdef [[
        typedef struct { long tv_sec; long tv_usec; } bench_timeval;
        typedef struct { bench_timeval ru_utime, ru_stime; long ru_maxrss; long pad[15]; } bench_rusage;
        int getrusage(int who, bench_rusage *usage);
        typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
        int clock_gettime(int clk, bench_timespec *ts);
    ]]
    local ts = ffi.new("bench_timespec")
    function M.now()
        ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
        return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
    end
    local ru = ffi.new("bench_rusage")
    -- user and system CPU seconds of the whole process (all threads)
    function M.cpu_snapshot()
        ffi.C.getrusage(0, ru)   -- RUSAGE_SELF
        return { tonumber(ru.ru_utime.tv_sec) + tonumber(ru.ru_utime.tv_usec) * 1e-6,
            tonumber(ru.ru_stime.tv_sec) + tonumber(ru.ru_stime.tv_usec) * 1e-6 }
    end
else
    assert(socket_ok, "benchutil: lua5.1 needs LuaSocket for its clock")
    M.now = socket.gettime
    local tck
    -- Whole process, all threads. The total is os.clock() (glibc clock(): the process CPU-time
    -- clock, ns resolution); /proc/self/stat's utime/stime (10 ms ticks) only split it.
    function M.cpu_snapshot()
        if not tck then
            local p = io.popen("getconf CLK_TCK")
            tck = tonumber(p and p:read("*l")) or 100
            if p then p:close() end
        end
        local total = os.clock()
        local f = assert(io.open("/proc/self/stat"))
        local s = f:read("*a")
        f:close()
        local fields = {}
        for w in s:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = w end
        return { tonumber(fields[12]) / tck, tonumber(fields[13]) / tck, total }
    end
end

-- user and system CPU seconds between two snapshots
function M.cpu_delta(a, b)
    local du, ds = b[1] - a[1], b[2] - a[2]
    if a[3] then
        local t = b[3] - a[3]
        if du + ds > 0 then
            du = t * du / (du + ds)
            return du, t - du
        end
        return t, 0
    end
    return du, ds
end

-- a field of /proc/self/status as a number (kB for Vm*, a count for Threads)
function M.status(key)
    local f = io.open("/proc/self/status")
    if not f then return -1 end
    for line in f:lines() do
        local k, v = line:match("^(%w+):%s+(%d+)")
        if k == key then f:close(); return tonumber(v) end
    end
    f:close()
    return -1
end

function M.percentile(sorted, p)
    local n = #sorted
    if n == 0 then return 0 end
    local k = math.ceil(p / 100 * n)
    if k < 1 then k = 1 end
    if k > n then k = n end
    return sorted[k]
end

-- flat table of numbers/strings/booleans -> one JSON line on stdout, keys in the given order
function M.emit(keys, t)
    local parts = {}
    for _, k in ipairs(keys) do
        local v = t[k]
        if v ~= nil then
            local s
            if type(v) == "string" then s = string.format("%q", v)
            elseif type(v) == "boolean" then s = tostring(v)
            elseif v == math.floor(v) and math.abs(v) < 2^53 then s = string.format("%d", v)
            else s = string.format("%.6f", v) end
            parts[#parts + 1] = string.format("%q:%s", k, s)
        end
    end
    io.stdout:write("{", table.concat(parts, ","), "}\n")
    io.stdout:flush()
end

M.OPS_KEYS = { "client", "workload", "ops", "errors", "seconds", "window", "p50_us", "p99_us",
    "cpu_user_s", "cpu_sys_s", "max_rss_kb" }

-- runs op() (returns true on success) until n ops or `limit` seconds; prints the result line
function M.run_sequential(client, workload, n, limit, op)
    local now, lat, errors, done = M.now, {}, 0, 0
    local c0 = M.cpu_snapshot()
    local t0 = now()
    local deadline = t0 + limit
    while done < n do
        local ts = now()
        local ok = op()
        local te = now()
        if not ok then errors = errors + 1 end
        done = done + 1
        lat[done] = (te - ts) * 1e6
        if done % 64 == 0 and te > deadline then break end
    end
    local t_end = now()
    local cu, cs = M.cpu_delta(c0, M.cpu_snapshot())
    table.sort(lat)
    return {
        client = client, workload = workload, ops = done, errors = errors, seconds = t_end - t0,
        window = 1, p50_us = M.percentile(lat, 50), p99_us = M.percentile(lat, 99),
        cpu_user_s = cu, cpu_sys_s = cs, max_rss_kb = M.status("VmHWM"),
    }
end

function M.interpreter()
    return (type(jit) == "table") and "luajit" or _VERSION:gsub("Lua ", "lua")
end

return M
