-- `luarocks make` in the repository: builds the native module with SwiftPM (release) and installs
-- resty.zookeeper with everything under lua/ (cosocket, discovery, ...), zookeeper and
-- zk_connection, the native library beside the shim (resty/zookeeper_native.so), where the shim
-- looks first. Needs Swift (/opt/swift/usr/bin or on PATH) and Debian's liblua5.1-0-dev.
-- ZOOKEEPER_LUA_BUILD=debug builds the debug configuration instead (the test suite's, faster).
rockspec_format = "3.0"
package = "lua-resty-zookeeper"
version = "0.1.0-1"
source = {
   url = "git+file://.",  -- built from a checkout with `luarocks make`
}
description = {
   summary = "ZooKeeper client for Lua 5.1, LuaJIT and OpenResty with a native (Swift) core",
   detailed = [[
      A drop-in for the lua-resty-zookeeper / zk_connection API and more (set_data, multi,
      ACLs, persistent watches, async handles). In nginx its clients use cosockets; elsewhere
      the native core does its own socket I/O.
   ]],
   license = "Apache-2.0",
}
dependencies = {
   "lua >= 5.1",
}
build = {
   type = "command",
   -- (luarocks exports CC=gcc and friends for C rocks; SwiftPM must use its own clang)
   build_command = [[mkdir -p .build && env -u CC -u CFLAGS -u LD -u LDFLAGS -u LIBFLAG PATH="$PATH:/opt/swift/usr/bin" bash scripts/build-lua.sh "${ZOOKEEPER_LUA_BUILD:-release}" > .build/rock-native-path]],
   install_command = [[bash scripts/rock-install.sh "$(LUADIR)" "$(cat .build/rock-native-path)"]],
}
