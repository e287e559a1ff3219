-- test/parity/calls.lua outside nginx: `lua5.1|luajit test/parity/native.lua HOSTS ROOT`.
package.path = "lua/?.lua;test/parity/?.lua;" .. package.path
local zk = require "resty.zookeeper"
local calls = require "calls"
local hosts, root = arg[1], arg[2]
local c = zk.new{ timeout = 1000 }
calls.run({
    client = c, root = root, zk = zk,
    connect = function() return c:connect(hosts) end,
    close = function() return c:close() end,
}, print)
