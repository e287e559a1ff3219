/*
 * The client object of the native module: every method encodes its arguments, calls the core
 * and, when the core says ZKL_WAIT, waits for the answer (running the callbacks that come due
 * meanwhile). Also zk.new and the module-level helpers.
 */
#include <string.h>

#include "glue.h"

Client *check_client(lua_State *L) {
    return (Client *)luaL_checkudata(L, 1, CLIENT_META);
}

/* Reads stack values first..last as simple arguments; 0 if one is not simple (or too many). */
static int simple_args(lua_State *L, int first, int last, zkl_arg *args) {
    size_t total = 0;
    int i;
    if (last - first + 1 > ZKL_MAX_SIMPLE_ARGS) return 0;
    for (i = first; i <= last; i++) {
        zkl_arg *arg = &args[i - first];
        switch (lua_type(L, i)) {
        case LUA_TNIL: arg->type = ZKL_NIL; break;
        case LUA_TBOOLEAN: arg->type = lua_toboolean(L, i) ? ZKL_TRUE : ZKL_FALSE; break;
        case LUA_TNUMBER:
            arg->type = ZKL_NUMBER;
            arg->number = lua_tonumber(L, i);
            break;
        case LUA_TSTRING:
            arg->type = ZKL_STRING;
            arg->bytes = lua_tolstring(L, i, &arg->length);
            total += arg->length;
            if (total > MAX_ARGS_BYTES) return 0; /* the value stream refuses it by name */
            break;
        default: return 0;
        }
    }
    return 1;
}

/* Paths, data, versions and modes go to the core as they are on the stack; tables and
 * functions through a value stream (encoding it may raise on bad input, before the core sees
 * anything). */
int32_t start_call(lua_State *L, Client *client, const char *method, int first, uint64_t *ticket,
                   const uint8_t **reply, size_t *reply_length) {
    zkl_arg simple[ZKL_MAX_SIMPLE_ARGS];
    int last = lua_gettop(L);
    size_t length;
    const uint8_t *args;
    if (simple_args(L, first, last, simple))
        return zkl_call_simple(client->core, method, simple, last >= first ? last - first + 1 : 0, ticket, reply,
                               reply_length);
    args = encode_stream(L, method, first, last, &length);
    return zkl_call(client->core, method, args, length, ticket, reply, reply_length);
}

/* For a call the core answered with ZKL_WAIT. Returns ZKL_DONE or ZKL_RAISE, references
 * released and debug lines printed. */
int32_t await_call(lua_State *L, Client *client, uint64_t ticket, const uint8_t **reply, size_t *reply_length) {
    int32_t status = ZKL_WAIT;
    while (status == ZKL_WAIT) {
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

/* Calls `method` with the stack values from `first` to the top and answers as the method does:
 * waits (running callbacks) if it must, raises a caller mistake. */
int invoke_method(lua_State *L, Client *client, const char *method, int first) {
    const uint8_t *reply;
    size_t reply_length;
    uint64_t ticket = 0;
    int32_t status;
    int top = lua_gettop(L), n;
    int waited = 0;
    if (client->core == NULL) return push_not_connected(L);
    status = start_call(L, client, method, first, &ticket, &reply, &reply_length);
    if (status == ZKL_WAIT) {
        waited = 1;
        status = await_call(L, client, ticket, &reply, &reply_length);
    } else {
        release_refs(L, client->core);
        print_log_lines(L, client->core);
    }
    lua_settop(L, top);
    /* Push the reply before running callbacks: a callback's own calls reuse the reply buffer.
     * Only a call that waited runs them: a callback that reads a field or calls _debug() must
     * not have the next callback run inside it. */
    n = push_stream(L, reply, reply_length);
    if (waited) run_callbacks(L, client->core);
    if (status == ZKL_RAISE) {
        lua_settop(L, top + 1);
        return lua_error(L);
    }
    return n;
}

/* Every method: encode the arguments, call the core, wait (running callbacks) if it must. */
static int call_method(lua_State *L) {
    Client *client = check_client(L);
    return invoke_method(L, client, lua_tostring(L, lua_upvalueindex(1)), 2);
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
        zkl_release(core); /* closes the session, waiting up to 1 s for the server */
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

/* __gc, __tostring and a locked __metatable, on the metatable on top of the stack. */
void set_lifetime_metamethods(lua_State *L, lua_CFunction gc, lua_CFunction tostring) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
}

/* The declared methods as { name = { batchable =, async =, instant =, hidden =, contract =, object = } }:
 * cosocket.lua wraps the same methods and takes its instant set from it. */
void push_method_table(lua_State *L) {
    static const struct {
        int32_t flag;
        const char *field;
    } FLAGS[] = {{ZKL_METHOD_BATCHABLE, "batchable"}, {ZKL_METHOD_ASYNC, "async"}, {ZKL_METHOD_INSTANT, "instant"},
                 {ZKL_METHOD_HIDDEN, "hidden"}, {ZKL_METHOD_CONTRACT, "contract"},
                 {ZKL_METHOD_OBJECT, "object"}};
    const char *name;
    int32_t flags, i;
    size_t f;
    lua_newtable(L);
    for (i = 0; zkl_method(i, &name, &flags); i++) {
        lua_createtable(L, 0, 6);
        for (f = 0; f < sizeof FLAGS / sizeof FLAGS[0]; f++) {
            lua_pushboolean(L, (flags & FLAGS[f].flag) != 0);
            lua_setfield(L, -2, FLAGS[f].field);
        }
        lua_setfield(L, -2, name);
    }
}

/* Registers the client metatable; sets new and the helpers in the module table on top. */
void register_client(lua_State *L) {
    int i;
    static const char *const HELPERS[] = {"digest_id", "digest_acl", "error_codes", NULL};
    if (luaL_newmetatable(L, CLIENT_META)) {
        const char *name;
        int32_t flags;
        lua_newtable(L);
        for (i = 0; zkl_method(i, &name, &flags); i++) {
            if (flags & ZKL_METHOD_HIDDEN) continue;
            if (strchr(name, ':') != NULL) {
                register_object_method(L, name, (flags & ZKL_METHOD_OBJECT) != 0);
                continue;
            }
            lua_pushstring(L, name);
            if (flags & ZKL_METHOD_OBJECT) {
                push_object_maker(L);
            } else if (strcmp(name, "retry") == 0) {
                lua_pop(L, 1);
                lua_pushcfunction(L, client_retry);
            } else {
                lua_pushcclosure(L, call_method, 1);
            }
            lua_setfield(L, -2, name);
        }
        lua_setfield(L, -2, "methods");
        lua_pushcfunction(L, client_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, client_newindex);
        lua_setfield(L, -2, "__newindex");
        set_lifetime_metamethods(L, client_gc, client_tostring);
    }
    lua_pop(L, 1);

    lua_pushcfunction(L, module_new);
    lua_setfield(L, -2, "new");
    for (i = 0; HELPERS[i]; i++) {
        lua_pushstring(L, HELPERS[i]);
        lua_pushcclosure(L, module_helper, 1);
        lua_setfield(L, -2, HELPERS[i]);
    }
}
