/*
 * client:retry(fn [, policy]): calls fn until it answers anything but a failure `nil, err, code`
 * worth another attempt. Only the calls of fn are here (the core cannot run Lua code); which
 * codes are retried, the back-off and when to give up are the core's (LuaRetry.swift over
 * RetryPolicy), and so is the wait: a call of the core that answers after the back-off, during
 * which the session stays driven and callbacks run, as in any waiting call.
 */
#include "glue.h"

/* Calls the core's "retry" with the n values on top of the stack (its arguments); leaves its
 * answers on top and returns how many. */
static int ask_core(lua_State *L, Client *client, int n) {
    return invoke_method(L, client, "retry", lua_gettop(L) - n + 1);
}

int client_retry(lua_State *L) {
    Client *client = check_client(L);
    lua_Number started;
    int attempt = 0, answers;
    lua_settop(L, 3); /* self, fn, policy */
    /* The core checks fn and the policy (raising on a bad one) and answers the start time. */
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    answers = ask_core(L, client, 2);
    if (answers < 1 || lua_type(L, -answers) != LUA_TNUMBER) return answers; /* nil, "not connected", code */
    started = lua_tonumber(L, -answers);
    for (;;) {
        int results, first = 4;
        lua_settop(L, 3);
        lua_pushvalue(L, 2);
        lua_call(L, 0, LUA_MULTRET);
        results = lua_gettop(L) - 3;
        if (results < 3 || !lua_isnil(L, first) || lua_type(L, first + 2) != LUA_TNUMBER) return results;
        attempt++;
        luaL_checkstack(L, 5, "retry");
        lua_pushnil(L);
        lua_pushvalue(L, 3);
        lua_pushnumber(L, started);
        lua_pushinteger(L, attempt);
        lua_pushvalue(L, first + 2);
        answers = ask_core(L, client, 5);
        if (answers < 1 || !lua_toboolean(L, -answers)) {
            /* Given up (or the client went away meanwhile): fn's last answer. */
            lua_settop(L, 3 + results);
            return results;
        }
    }
}
