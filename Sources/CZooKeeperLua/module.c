/*
 * The entry point of the native module (luaopen_resty_zookeeper_native): it registers the
 * client and handle metatables and builds the module table. The glue only converts between Lua
 * values and the C ABI of the Swift core (zookeeper_lua.h) and runs callbacks; every call that
 * can raise a Lua error (and so longjmp) is made in these C files, never while a Swift frame is
 * on the stack.
 */
#define _GNU_SOURCE /* dladdr, RTLD_NODELETE */
#include <dlfcn.h>

#include "glue.h"

/* Keeps this library mapped until the process ends. Lua unloads what package.loadlib loaded
 * (dlclose) when its state closes, but the event-loop thread of the core keeps running code of
 * this library, and would crash on the unmapped pages (a SIGSEGV at exit). */
static void pin_library(void) {
    static int pinned = 0;
    Dl_info info;
    if (pinned) return;
    if (dladdr((void *)&pin_library, &info) && info.dli_fname != NULL &&
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != NULL)
        pinned = 1;
}

int luaopen_resty_zookeeper_native(lua_State *L) {
    pin_library();
    register_handle_metatable(L);
    lua_newtable(L);
    register_client(L);
    push_hosted_table(L);
    lua_setfield(L, -2, "_hosted");
    lua_pushliteral(L, "1.0.0");
    lua_setfield(L, -2, "_VERSION");
    /* { { perms = 0x1f, scheme = "world", id = "anyone" } } */
    lua_createtable(L, 1, 0);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, 0x1f);
    lua_setfield(L, -2, "perms");
    lua_pushliteral(L, "world");
    lua_setfield(L, -2, "scheme");
    lua_pushliteral(L, "anyone");
    lua_setfield(L, -2, "id");
    lua_rawseti(L, -2, 1);
    lua_setfield(L, -2, "ZOO_OPEN_ACL_UNSAFE");
    return 1;
}
