/*
 * The cosocket driver's primitives, for clients made with `_hosted = true` (inside nginx):
 * nothing here waits. The Lua driver (lua/resty/zookeeper/cosocket.lua) starts a call, moves
 * bytes between cosockets and the core until the call's ticket is ready, runs callbacks from
 * Lua (so that they may yield), and takes the answer.
 */
#include "glue.h"

/* begin(client, method, ...) -> 0, values... (answered) | ticket (wait for it); raises on a
 * caller mistake, like the method itself. */
static int hosted_begin(lua_State *L) {
    Client *client = check_client(L);
    const char *method = luaL_checkstring(L, 2);
    const uint8_t *reply;
    size_t reply_length;
    uint64_t ticket = 0;
    int32_t status;
    int top = lua_gettop(L), n;
    if (client->core == NULL) {
        lua_pushinteger(L, 0);
        return 1 + push_not_connected(L);
    }
    status = start_call(L, client, method, 3, &ticket, &reply, &reply_length);
    release_refs(L, client->core);
    lua_settop(L, top);
    if (status == ZKL_WAIT) {
        lua_pushnumber(L, (lua_Number)ticket);
        return 1;
    }
    lua_pushinteger(L, 0);
    n = push_stream(L, reply, reply_length);
    if (status == ZKL_RAISE) return lua_error(L);
    return n + 1;
}

static uint64_t check_ticket(lua_State *L, int index) {
    lua_Number n = luaL_checknumber(L, index);
    return n >= 1 && n < 9007199254740992.0 ? (uint64_t)n : 0;
}

/* check(client, ticket) -> 0 (pending) | 1 (ready) | 2 (a callback is due first) */
static int hosted_check(lua_State *L) {
    Client *client = check_client(L);
    lua_pushinteger(L, client->core ? zkl_check(client->core, check_ticket(L, 2)) : ZKL_READY);
    return 1;
}

/* finish(client, ticket) -> the call's values; raises as the method would. */
static int hosted_finish(lua_State *L) {
    Client *client = check_client(L);
    const uint8_t *reply;
    size_t reply_length;
    int32_t status;
    int n;
    if (client->core == NULL) return push_not_connected(L);
    status = zkl_finish(client->core, check_ticket(L, 2), &reply, &reply_length);
    release_refs(L, client->core);
    lua_settop(L, 2);
    n = push_stream(L, reply, reply_length);
    if (status == ZKL_RAISE) return lua_error(L);
    return n;
}

/* forget(client, ticket): an async handle collected unwaited gives its ticket up. */
static int hosted_forget(lua_State *L) {
    Client *client = check_client(L);
    if (client->core) {
        zkl_forget(client->core, check_ticket(L, 2));
        release_refs(L, client->core);
    }
    return 0;
}

/* drop(client, id): a recipe object was collected; the core gives its work up. */
static int hosted_drop(lua_State *L) {
    Client *client = check_client(L);
    lua_Number id = luaL_checknumber(L, 2);
    if (client->core) {
        zkl_drop_object(client->core, id);
        release_refs(L, client->core);
    }
    return 0;
}

/* ready(client, list) -> n, event: fills list[1..n] with the tickets that became ready since
 * the last call (list[n+1] is nil); event tells whether a callback is due. */
static int hosted_ready(lua_State *L) {
    Client *client = check_client(L);
    const uint64_t *ids = NULL;
    size_t count = 0, i;
    int event;
    luaL_checktype(L, 2, LUA_TTABLE);
    event = client->core ? zkl_ready(client->core, &ids, &count) : 0;
    for (i = 0; i < count; i++) {
        lua_pushnumber(L, (lua_Number)ids[i]);
        lua_rawseti(L, 2, (int)i + 1);
    }
    lua_pushnil(L);
    lua_rawseti(L, 2, (int)count + 1);
    lua_pushinteger(L, (lua_Integer)count);
    lua_pushboolean(L, event);
    return 2;
}

/* session_state(client) -> what client:session_state() answers, without a method call. */
static int hosted_session_state(lua_State *L) {
    Client *client = check_client(L);
    const char *state = client->core ? zkl_session_state(client->core) : NULL;
    lua_pushstring(L, state ? state : "closed");
    return 1;
}

/* next_event(client) -> function, arguments... | nothing */
static int hosted_next_event(lua_State *L) {
    Client *client = check_client(L);
    const uint8_t *args;
    size_t length;
    int32_t ref;
    int n;
    if (client->core == NULL || (ref = zkl_next_event(client->core, &args, &length)) == 0) return 0;
    lua_settop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    n = push_stream(L, args, length);
    release_refs(L, client->core);
    return n + 1;
}

/* next_log_line(client) -> line | nil */
static int hosted_next_log_line(lua_State *L) {
    Client *client = check_client(L);
    const char *line = client->core ? zkl_next_log_line(client->core) : NULL;
    if (line == NULL) return 0;
    lua_pushstring(L, line);
    return 1;
}

/* io_next(client) -> "connect"|"probe", link, host, port | "send", link, bytes | "close", link | nil
 * ("probe": a link beside the session's, asking a server whether it serves writes) */
static int hosted_io_next(lua_State *L) {
    Client *client = check_client(L);
    uint64_t link = 0;
    const uint8_t *bytes = NULL;
    size_t length = 0;
    int32_t port = 0, kind;
    if (client->core == NULL) return 0;
    kind = zkl_io_next(client->core, &link, &bytes, &length, &port);
    switch (kind) {
    case ZKL_IO_CONNECT:
    case ZKL_IO_PROBE:
        if (kind == ZKL_IO_PROBE) lua_pushliteral(L, "probe");
        else lua_pushliteral(L, "connect");
        lua_pushnumber(L, (lua_Number)link);
        lua_pushlstring(L, (const char *)bytes, length);
        lua_pushinteger(L, port);
        return 4;
    case ZKL_IO_SEND:
        lua_pushliteral(L, "send");
        lua_pushnumber(L, (lua_Number)link);
        lua_pushlstring(L, (const char *)bytes, length);
        return 3;
    case ZKL_IO_CLOSE:
        lua_pushliteral(L, "close");
        lua_pushnumber(L, (lua_Number)link);
        return 2;
    default: return 0;
    }
}

/* io_report(client, what, link [, bytes]), what: "established" | "failed" | "closed" | "received"
 * | "refused" (bytes: the TLS reason) */
static int hosted_io_report(lua_State *L) {
    static const char *const KINDS[] = {"established", "failed", "closed", "received", "refused", NULL};
    Client *client = check_client(L);
    int kind = luaL_checkoption(L, 2, NULL, KINDS) + 1;
    uint64_t link = check_ticket(L, 3);
    size_t length = 0;
    const char *bytes = kind == ZKL_IO_RECEIVED || kind == ZKL_IO_REFUSED ? luaL_checklstring(L, 4, &length) : NULL;
    if (client->core) zkl_io_report(client->core, kind, link, (const uint8_t *)bytes, length);
    return 0;
}

static int hosted_io_tick(lua_State *L) {
    Client *client = check_client(L);
    if (client->core) zkl_io_tick(client->core);
    return 0;
}

/* io_wait_ms(client [, ticket]) -> ms until the next timer or the ticket's deadline | nil */
static int hosted_io_wait_ms(lua_State *L) {
    Client *client = check_client(L);
    int64_t ms = client->core ? zkl_io_wait_ms(client->core, lua_isnoneornil(L, 2) ? 0 : check_ticket(L, 2)) : -1;
    if (ms < 0) return 0;
    lua_pushnumber(L, (lua_Number)ms);
    return 1;
}

static const luaL_Reg HOSTED[] = {
    {"begin", hosted_begin}, {"check", hosted_check}, {"finish", hosted_finish}, {"forget", hosted_forget}, {"drop", hosted_drop},
    {"ready", hosted_ready}, {"session_state", hosted_session_state}, {"next_event", hosted_next_event}, {"next_log_line", hosted_next_log_line},
    {"io_next", hosted_io_next}, {"io_report", hosted_io_report}, {"io_tick", hosted_io_tick},
    {"io_wait_ms", hosted_io_wait_ms}, {NULL, NULL},
};

void push_hosted_table(lua_State *L) {
    int i;
    lua_newtable(L);
    push_method_table(L);
    lua_setfield(L, -2, "methods");
    for (i = 0; HOSTED[i].name; i++) {
        lua_pushcfunction(L, HOSTED[i].func);
        lua_setfield(L, -2, HOSTED[i].name);
    }
}
