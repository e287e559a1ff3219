/*
 * Lua glue of the native resty.zookeeper module. It only converts between Lua values and the
 * C ABI of the Swift core (zookeeper_lua.h) and runs callbacks; every call that can raise a Lua
 * error (and so longjmp) is made here, never while a Swift frame is on the stack.
 */
#define _GNU_SOURCE /* dladdr, RTLD_NODELETE */
#include <dlfcn.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "zookeeper_lua.h"

#define CLIENT_META "resty.zookeeper.client"
#define MAX_DEPTH 32
#define MAX_ARGS_BYTES (64u * 1024u * 1024u)
/* ErrorCode.closed (zk.errors.CLOSED): a call on a client whose core is gone. */
#define ERROR_CLOSED (-1001)

typedef struct {
    void *core; /* NULL once closed by __gc */
} Client;

/* ---- Lua values -> value stream ---------------------------------------------------------- */

typedef struct {
    uint8_t *bytes; /* NULL in the measuring pass */
    size_t length;
    const char *function; /* the method or function whose arguments these are, for errors */
} Writer;

/* `bad argument #n to 'function' (...)`, numbered as the core numbers them (a method's self is
 * #1). Not luaL_argerror: it renumbers method calls and loses the name under LuaJIT. */
static void argument_error(lua_State *L, Writer *w, int argument, const char *message) {
    luaL_where(L, 1);
    lua_pushfstring(L, "bad argument #%d to '%s' (%s)", argument, w->function, message);
    lua_concat(L, 2);
    lua_error(L);
}

static void put(Writer *w, const void *data, size_t n) {
    if (w->bytes) memcpy(w->bytes + w->length, data, n);
    w->length += n;
}

static void put_tag(Writer *w, uint8_t tag) { put(w, &tag, 1); }

static void put_u32(Writer *w, uint32_t v) { put(w, &v, 4); }

/* Encodes the value at `index`. The measuring pass validates and raises on bad input (before
 * anything is referenced); the writing pass takes registry references for functions. */
static void encode_value(lua_State *L, int index, Writer *w, int depth, int argument) {
    index = index < 0 ? lua_gettop(L) + index + 1 : index;
    switch (lua_type(L, index)) {
    case LUA_TNIL: put_tag(w, ZKL_NIL); break;
    case LUA_TBOOLEAN: put_tag(w, lua_toboolean(L, index) ? ZKL_TRUE : ZKL_FALSE); break;
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, index);
        put_tag(w, ZKL_NUMBER);
        put(w, &d, sizeof d);
        break;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, index, &n);
        if (n > MAX_ARGS_BYTES) argument_error(L, w, argument, "string too large");
        put_tag(w, ZKL_STRING);
        put_u32(w, (uint32_t)n);
        put(w, s, n);
        break;
    }
    case LUA_TTABLE: {
        uint32_t count = 0;
        size_t count_at;
        if (depth >= MAX_DEPTH) argument_error(L, w, argument, "table nested too deeply (or cyclic)");
        luaL_checkstack(L, 4, "resty.zookeeper: table too deep");
        put_tag(w, ZKL_TABLE);
        count_at = w->length;
        put_u32(w, 0);
        lua_pushnil(L);
        while (lua_next(L, index)) {
            int kt = lua_type(L, -2);
            if (kt != LUA_TNUMBER && kt != LUA_TSTRING) argument_error(L, w, argument, "table keys must be numbers or strings");
            /* Encode a copy of the key: lua_tolstring on a number key would confuse lua_next. */
            lua_pushvalue(L, -2);
            encode_value(L, -1, w, depth + 1, argument);
            lua_pop(L, 1);
            encode_value(L, -1, w, depth + 1, argument);
            lua_pop(L, 1);
            count++;
        }
        if (w->bytes) memcpy(w->bytes + count_at, &count, 4);
        break;
    }
    case LUA_TFUNCTION:
        put_tag(w, ZKL_FUNCTION);
        if (w->bytes) {
            int32_t ref;
            lua_pushvalue(L, index);
            ref = (int32_t)luaL_ref(L, LUA_REGISTRYINDEX);
            put(w, &ref, 4);
        } else {
            w->length += 4;
        }
        break;
    default: {
        char message[80];
        snprintf(message, sizeof message, "unsupported value of type %s", luaL_typename(L, index));
        argument_error(L, w, argument, message);
    }
    }
    if (w->length > MAX_ARGS_BYTES) argument_error(L, w, argument, "arguments too large");
}

/* Encodes stack values first..last as a stream in a userdata (collected even if we raise);
 * leaves the userdata on the stack. */
static const uint8_t *encode_stream(lua_State *L, const char *function, int first, int last, size_t *length) {
    Writer w = {NULL, 4, function};
    int i;
    for (i = first; i <= last; i++) encode_value(L, i, &w, 0, i);
    *length = w.length;
    w.bytes = lua_newuserdata(L, w.length);
    w.length = 0;
    put_u32(&w, (uint32_t)(last >= first ? last - first + 1 : 0));
    for (i = first; i <= last; i++) encode_value(L, i, &w, 0, i);
    return w.bytes;
}

/* ---- value stream -> Lua values ---------------------------------------------------------- */

typedef struct {
    const uint8_t *bytes;
    size_t length;
    size_t offset;
} Reader;

static int take(Reader *r, void *out, size_t n) {
    if (r->length - r->offset < n) return 0;
    memcpy(out, r->bytes + r->offset, n);
    r->offset += n;
    return 1;
}

/* Pushes one value; returns 0 on a malformed stream (the core's bug, never the user's). */
static int push_value(lua_State *L, Reader *r, int depth) {
    uint8_t tag;
    if (depth > MAX_DEPTH || !take(r, &tag, 1)) return 0;
    luaL_checkstack(L, 3, "resty.zookeeper: reply too deep");
    switch (tag) {
    case ZKL_NIL: lua_pushnil(L); return 1;
    case ZKL_FALSE: lua_pushboolean(L, 0); return 1;
    case ZKL_TRUE: lua_pushboolean(L, 1); return 1;
    case ZKL_NUMBER: {
        double d;
        if (!take(r, &d, sizeof d)) return 0;
        lua_pushnumber(L, d);
        return 1;
    }
    case ZKL_STRING: {
        uint32_t n;
        if (!take(r, &n, 4) || r->length - r->offset < n) return 0;
        lua_pushlstring(L, (const char *)r->bytes + r->offset, n);
        r->offset += n;
        return 1;
    }
    case ZKL_TABLE: {
        uint32_t count, i;
        if (!take(r, &count, 4)) return 0;
        lua_createtable(L, 0, 0);
        for (i = 0; i < count; i++) {
            if (!push_value(L, r, depth + 1)) return 0;
            if (!push_value(L, r, depth + 1)) return 0;
            lua_rawset(L, -3);
        }
        return 1;
    }
    case ZKL_FUNCTION: {
        int32_t ref;
        if (!take(r, &ref, 4)) return 0;
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
        return 1;
    }
    default: return 0;
    }
}

/* Pushes every value of a stream; returns how many. */
static int push_stream(lua_State *L, const uint8_t *bytes, size_t length) {
    Reader r = {bytes, length, 0};
    uint32_t count, i;
    int top = lua_gettop(L);
    if (!take(&r, &count, 4)) return luaL_error(L, "resty.zookeeper: malformed reply");
    for (i = 0; i < count; i++) {
        if (!push_value(L, &r, 0)) {
            lua_settop(L, top);
            return luaL_error(L, "resty.zookeeper: malformed reply");
        }
    }
    return (int)count;
}

/* ---- housekeeping the core asks for -------------------------------------------------------- */

static void release_refs(lua_State *L, void *core) {
    int32_t ref;
    while ((ref = zkl_next_unref(core)) != 0) luaL_unref(L, LUA_REGISTRYINDEX, ref);
}

static void print_log_lines(lua_State *L, void *core) {
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

/* Runs every due callback under a protected call: an error is reported, never raised. */
static void run_callbacks(lua_State *L, void *core) {
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

/* ---- the client object ------------------------------------------------------------------- */

static Client *check_client(lua_State *L) {
    return (Client *)luaL_checkudata(L, 1, CLIENT_META);
}

/* Starts `method` with the arguments from stack index `first` to the top (encoding them may
 * raise on bad input, before the core sees anything). Returns the core's status. */
static int32_t start_call(lua_State *L, Client *client, const char *method, int first, uint64_t *ticket,
                          const uint8_t **reply, size_t *reply_length) {
    size_t length;
    const uint8_t *args = encode_stream(L, method, first, lua_gettop(L), &length);
    return zkl_call(client->core, method, args, length, ticket, reply, reply_length);
}

/* Waits for a call the core answered with ZKL_WAIT (running the callbacks that come due
 * first) and takes its reply. Returns ZKL_DONE or ZKL_RAISE. */
static int32_t await_call(lua_State *L, Client *client, uint64_t ticket, const uint8_t **reply, size_t *reply_length) {
    int32_t status = ZKL_WAIT;
    while (status == ZKL_WAIT) {
        release_refs(L, client->core);
        print_log_lines(L, client->core);
        if (zkl_wait(client->core, ticket) == ZKL_EVENT) {
            run_callbacks(L, client->core);
            continue;
        }
        status = zkl_finish(client->core, ticket, reply, reply_length);
    }
    release_refs(L, client->core);
    print_log_lines(L, client->core);
    return status;
}

/* nil, "not connected", CLOSED: what any call answers once the core is gone. */
static int push_not_connected(lua_State *L) {
    lua_pushnil(L);
    lua_pushliteral(L, "not connected");
    lua_pushinteger(L, ERROR_CLOSED);
    return 3;
}

/* Every method: encode the arguments, call the core, wait (running callbacks) if it must. */
static int call_method(lua_State *L) {
    Client *client = check_client(L);
    const char *method = lua_tostring(L, lua_upvalueindex(1));
    const uint8_t *reply;
    size_t reply_length;
    uint64_t ticket = 0;
    int32_t status;
    int top = lua_gettop(L), n;
    if (client->core == NULL) return push_not_connected(L);
    status = start_call(L, client, method, 2, &ticket, &reply, &reply_length);
    if (status == ZKL_WAIT) status = await_call(L, client, ticket, &reply, &reply_length);
    release_refs(L, client->core);
    print_log_lines(L, client->core);
    lua_settop(L, top);
    /* Push the reply before running callbacks: a callback's own calls reuse the reply buffer. */
    n = push_stream(L, reply, reply_length);
    run_callbacks(L, client->core);
    if (status == ZKL_RAISE) {
        lua_settop(L, top + 1);
        return lua_error(L);
    }
    return n;
}

/* ---- async handles: client:<method>_async(...) -> handle; handle:wait() --------------------- */

#define HANDLE_META "resty.zookeeper.handle"

enum { HANDLE_PENDING, HANDLE_WAITING, HANDLE_DONE };

/* Its environment table holds [1] = the client (kept alive while the handle lives) and, once
 * done, the answer: n = count, [2..n+1] = the values. */
typedef struct {
    uint64_t ticket;
    int state;
    int raised; /* the answer is an error to raise */
} Handle;

/* Moves the n values on top of the stack into the table at `table` (as n, [2..n+1]). */
static void remember(lua_State *L, int table, int n) {
    int i;
    lua_pushinteger(L, n);
    lua_setfield(L, table, "n");
    for (i = n; i >= 1; i--) lua_rawseti(L, table, i + 1);
}

static int recall(lua_State *L, int table) {
    int i, n;
    lua_getfield(L, table, "n");
    n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    luaL_checkstack(L, n, "too many results");
    for (i = 1; i <= n; i++) lua_rawgeti(L, table, i + 1);
    return n;
}

/* client:<method>_async(...): starts the call and returns at once with a handle; caller
 * mistakes raise here, as the method would. Requests of many handles are in flight together. */
static int call_async(lua_State *L) {
    Client *client = check_client(L);
    const char *method = lua_tostring(L, lua_upvalueindex(1));
    const uint8_t *reply = NULL;
    size_t reply_length = 0;
    uint64_t ticket = 0;
    int32_t status = ZKL_DONE;
    int top = lua_gettop(L), n;
    Handle *handle;
    if (client->core != NULL) {
        status = start_call(L, client, method, 2, &ticket, &reply, &reply_length);
        release_refs(L, client->core);
        print_log_lines(L, client->core);
    }
    lua_settop(L, top);
    if (status == ZKL_RAISE) {
        push_stream(L, reply, reply_length);
        return lua_error(L);
    }
    handle = (Handle *)lua_newuserdata(L, sizeof(Handle));
    handle->ticket = ticket;
    handle->state = status == ZKL_WAIT ? HANDLE_PENDING : HANDLE_DONE;
    handle->raised = 0;
    luaL_getmetatable(L, HANDLE_META);
    lua_setmetatable(L, -2);
    lua_createtable(L, 3, 1);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    if (status == ZKL_DONE) {
        if (client->core == NULL) {
            n = push_not_connected(L);
        } else {
            n = push_stream(L, reply, reply_length);
        }
        remember(L, top + 2, n);
    }
    lua_setfenv(L, top + 1);
    return 1;
}

static Handle *check_handle(lua_State *L) {
    return (Handle *)luaL_checkudata(L, 1, HANDLE_META);
}

static Client *handle_client(lua_State *L, int env) {
    lua_rawgeti(L, env, 1);
    return (Client *)lua_touserdata(L, -1);
}

/* handle:wait() -> what the method returns (again on every later wait). */
static int handle_wait(lua_State *L) {
    Handle *handle = check_handle(L);
    const uint8_t *reply;
    size_t reply_length;
    Client *client;
    int n;
    lua_settop(L, 1);
    lua_getfenv(L, 1);
    if (handle->state == HANDLE_WAITING)
        return luaL_error(L, "resty.zookeeper: this handle is already being waited for");
    if (handle->state == HANDLE_PENDING) {
        client = handle_client(L, 2);
        if (client == NULL || client->core == NULL) {
            n = push_not_connected(L);
        } else {
            handle->state = HANDLE_WAITING;
            handle->raised = await_call(L, client, handle->ticket, &reply, &reply_length) == ZKL_RAISE;
            lua_settop(L, 3);
            n = push_stream(L, reply, reply_length);
        }
        handle->state = HANDLE_DONE;
        remember(L, 2, n);
        /* After the answer is stored: a callback's own calls reuse the reply buffer. */
        if (client != NULL && client->core != NULL) run_callbacks(L, client->core);
        lua_settop(L, 2);
    }
    n = recall(L, 2);
    if (handle->raised) return lua_error(L);
    return n;
}

/* handle:ready() -> whether wait() would answer without waiting for the server. */
static int handle_ready(lua_State *L) {
    Handle *handle = check_handle(L);
    Client *client;
    int ready = handle->state == HANDLE_DONE;
    if (handle->state == HANDLE_PENDING) {
        lua_getfenv(L, 1);
        client = handle_client(L, lua_gettop(L));
        ready = client == NULL || client->core == NULL || zkl_check(client->core, handle->ticket) == ZKL_READY;
    }
    lua_pushboolean(L, ready);
    return 1;
}

/* A handle collected unwaited gives its ticket up; the answer is dropped when it comes. */
static int handle_gc(lua_State *L) {
    Handle *handle = check_handle(L);
    Client *client;
    if (handle->state == HANDLE_PENDING) {
        lua_getfenv(L, 1);
        client = handle_client(L, lua_gettop(L));
        if (client != NULL && client->core != NULL) {
            zkl_forget(client->core, handle->ticket);
            release_refs(L, client->core);
        }
        handle->state = HANDLE_DONE;
    }
    return 0;
}

static int handle_tostring(lua_State *L) {
    lua_pushfstring(L, "resty.zookeeper handle (%p)", (void *)check_handle(L));
    return 1;
}

static const luaL_Reg HANDLE_METHODS[] = {{"wait", handle_wait}, {"ready", handle_ready}, {NULL, NULL}};

static void register_handle_metatable(lua_State *L) {
    int i;
    if (luaL_newmetatable(L, HANDLE_META)) {
        lua_newtable(L);
        for (i = 0; HANDLE_METHODS[i].name; i++) {
            lua_pushcfunction(L, HANDLE_METHODS[i].func);
            lua_setfield(L, -2, HANDLE_METHODS[i].name);
        }
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, handle_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, handle_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
}

/* ---- the client's fields ------------------------------------------------------------------- */

static int client_index(lua_State *L) {
    /* Methods first, then fields the user set, then the session's own fields. */
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1)) return 1;
    lua_settop(L, 2);
    lua_getfenv(L, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1) || lua_type(L, 2) != LUA_TSTRING) return 1;
    lua_settop(L, 2);
    {
        /* <method>_async: the core says which methods have one (it refuses the others). */
        size_t length;
        const char *name = lua_tolstring(L, 2, &length);
        if (length > 6 && strcmp(name + length - 6, "_async") == 0) {
            lua_pushcclosure(L, call_async, 1);
            return 1;
        }
    }
    lua_pushliteral(L, "__field");
    lua_pushcclosure(L, call_method, 1);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

static int client_newindex(lua_State *L) {
    lua_getfenv(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

static int client_gc(lua_State *L) {
    Client *client = (Client *)luaL_checkudata(L, 1, CLIENT_META);
    if (client->core) {
        void *core = client->core;
        client->core = NULL;
        zkl_release(core); /* closes the session without blocking */
        release_refs(L, core);
        zkl_free(core);
    }
    return 0;
}

static int client_tostring(lua_State *L) {
    Client *client = (Client *)luaL_checkudata(L, 1, CLIENT_META);
    lua_pushfstring(L, "resty.zookeeper client (%p)", (void *)client);
    return 1;
}

static const char *const METHODS[] = {
    /* the original client's contract */
    "connect", "set_timeout", "add_auth", "exists", "get_data", "create", "get_children", "delete",
    "watch", "close", "_debug",
    /* beyond it */
    "set_data", "stat", "get", "children", "get_acl", "set_acl", "multi", "multi_read", "sync",
    "get_ephemerals", "get_all_children_number", "who_am_i", "add_watch", "remove_watches",
    "check_watches", "get_config", "session_state", "on_state", "dispatch", "batch", NULL,
};

static int module_new(lua_State *L) {
    const uint8_t *options, *reply;
    size_t length, reply_length;
    void *core;
    Client *client;
    int top = lua_gettop(L);
    if (top >= 1 && !lua_isnil(L, 1) && !lua_istable(L, 1)) luaL_typerror(L, 1, "table");
    options = encode_stream(L, "new", 1, top >= 1 ? 1 : 0, &length);
    core = zkl_new(options, length, &reply, &reply_length);
    if (core == NULL) {
        lua_settop(L, top);
        return push_stream(L, reply, reply_length);
    }
    client = (Client *)lua_newuserdata(L, sizeof(Client));
    client->core = core;
    luaL_getmetatable(L, CLIENT_META);
    lua_setmetatable(L, -2);
    lua_newtable(L);
    lua_setfenv(L, -2);
    return 1;
}

/* Module-level helpers implemented by the core (digest ids, ...): they take no client. */
static int module_helper(lua_State *L) {
    const char *name = lua_tostring(L, lua_upvalueindex(1));
    const uint8_t *args, *reply;
    size_t length, reply_length;
    uint64_t ticket;
    int32_t status;
    int top = lua_gettop(L);
    args = encode_stream(L, name, 1, top, &length);
    status = zkl_call(NULL, name, args, length, &ticket, &reply, &reply_length);
    lua_settop(L, top);
    if (status == ZKL_RAISE) {
        push_stream(L, reply, reply_length);
        return lua_error(L);
    }
    return push_stream(L, reply, reply_length);
}

/* ---- the cosocket driver's primitives ---------------------------------------------------------
 * For clients made with `_hosted = true` (inside nginx): nothing here waits. The Lua driver
 * (lua/resty/zookeeper/cosocket.lua) starts a call, moves bytes between cosockets and the core
 * until the call's ticket is ready, runs callbacks from Lua (so that they may yield), and takes
 * the answer. */

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

/* io_next(client) -> "connect", link, host, port | "send", link, bytes | "close", link | nil */
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
        lua_pushliteral(L, "connect");
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

/* io_report(client, what, link [, bytes]), what: "established" | "failed" | "closed" | "received" */
static int hosted_io_report(lua_State *L) {
    static const char *const KINDS[] = {"established", "failed", "closed", "received", NULL};
    Client *client = check_client(L);
    int kind = luaL_checkoption(L, 2, NULL, KINDS) + 1;
    uint64_t link = check_ticket(L, 3);
    size_t length = 0;
    const char *bytes = kind == ZKL_IO_RECEIVED ? luaL_checklstring(L, 4, &length) : NULL;
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
    {"begin", hosted_begin}, {"check", hosted_check}, {"finish", hosted_finish}, {"forget", hosted_forget},
    {"next_event", hosted_next_event}, {"next_log_line", hosted_next_log_line},
    {"io_next", hosted_io_next}, {"io_report", hosted_io_report}, {"io_tick", hosted_io_tick},
    {"io_wait_ms", hosted_io_wait_ms}, {NULL, NULL},
};

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
    int i;
    static const char *const HELPERS[] = {"digest_id", "digest_acl", "error_codes", NULL};
    pin_library();
    register_handle_metatable(L);
    if (luaL_newmetatable(L, CLIENT_META)) {
        lua_newtable(L);
        for (i = 0; METHODS[i]; i++) {
            lua_pushstring(L, METHODS[i]);
            lua_pushcclosure(L, call_method, 1);
            lua_setfield(L, -2, METHODS[i]);
        }
        lua_setfield(L, -2, "methods");
        lua_pushcfunction(L, client_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, client_newindex);
        lua_setfield(L, -2, "__newindex");
        lua_pushcfunction(L, client_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, client_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);

    lua_newtable(L);
    lua_pushcfunction(L, module_new);
    lua_setfield(L, -2, "new");
    for (i = 0; HELPERS[i]; i++) {
        lua_pushstring(L, HELPERS[i]);
        lua_pushcclosure(L, module_helper, 1);
        lua_setfield(L, -2, HELPERS[i]);
    }
    lua_newtable(L);
    for (i = 0; HOSTED[i].name; i++) {
        lua_pushcfunction(L, HOSTED[i].func);
        lua_setfield(L, -2, HOSTED[i].name);
    }
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
