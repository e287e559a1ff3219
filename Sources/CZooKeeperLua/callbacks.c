/*
 * What the core asks of the Lua thread besides answers: registry references to release, debug
 * lines to print, and callbacks (watches, state changes) to run, each under a protected call.
 */
#include <stdio.h>

#include "glue.h"

void release_refs(lua_State *L, void *core) {
    int32_t ref;
    while ((ref = zkl_next_unref(core)) != 0) luaL_unref(L, LUA_REGISTRYINDEX, ref);
}

void print_log_lines(lua_State *L, void *core) {
    const char *line;
    while ((line = zkl_next_log_line(core)) != NULL) {
        lua_getglobal(L, "print");
        if (lua_isfunction(L, -1)) {
            lua_pushstring(L, line);
            if (lua_pcall(L, 1, 0, 0) != 0) lua_pop(L, 1);
        } else {
            lua_pop(L, 1);
        }
    }
}

static int traceback(lua_State *L) {
    const char *message = lua_tostring(L, 1);
    lua_getglobal(L, "debug");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "traceback");
        if (lua_isfunction(L, -1)) {
            lua_pushstring(L, message ? message : "(error object is not a string)");
            lua_pushinteger(L, 2);
            lua_call(L, 2, 1);
            return 1;
        }
    }
    lua_pushstring(L, message ? message : "(error object is not a string)");
    return 1;
}

void run_callbacks(lua_State *L, void *core) {
    const uint8_t *args;
    size_t length;
    int32_t ref;
    while ((ref = zkl_next_event(core, &args, &length)) != 0) {
        int base = lua_gettop(L), n;
        lua_pushcfunction(L, traceback);
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
        n = push_stream(L, args, length);
        if (lua_pcall(L, n, 0, base + 1) != 0) {
            fprintf(stderr, "resty.zookeeper: error in callback: %s\n", lua_tostring(L, -1));
            fflush(stderr);
        }
        lua_settop(L, base);
        release_refs(L, core);
    }
}

/* ErrorCode.closed in the core (zk.errors.CLOSED). */
#define ERROR_CLOSED (-1001)

int push_not_connected(lua_State *L) {
    lua_pushnil(L);
    lua_pushliteral(L, "not connected");
    lua_pushinteger(L, ERROR_CLOSED);
    return 3;
}
