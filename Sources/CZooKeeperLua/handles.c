/*
 * Async handles: client:<method>_async(...) starts the call and returns a handle at once;
 * handle:wait() answers as the method would, handle:ready() says whether it would wait.
 */
#include "glue.h"

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
int call_async(lua_State *L) {
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

void register_handle_metatable(lua_State *L) {
    int i;
    if (luaL_newmetatable(L, HANDLE_META)) {
        lua_newtable(L);
        for (i = 0; HANDLE_METHODS[i].name; i++) {
            lua_pushcfunction(L, HANDLE_METHODS[i].func);
            lua_setfield(L, -2, HANDLE_METHODS[i].name);
        }
        lua_setfield(L, -2, "__index");
        set_lifetime_metamethods(L, handle_gc, handle_tostring);
    }
    lua_pop(L, 1);
}
