/*
 * Recipe objects: client:lock(path), client:election(path, id, callback), client:counter(path)...
 * The core keeps the recipe and answers an id; the object is a userdata holding that id, with
 * the client in its environment (kept alive as long as the object). Its methods, declared in the
 * core's method table as "<kind>:<method>", are calls on the client with the id first; its __gc
 * tells the core to give the object's work up.
 */
#include <stdio.h>
#include <string.h>

#include "glue.h"

typedef struct {
    lua_Number id;
} Object;

/* "resty.zookeeper.<kind>" for "<kind>" or "<kind>:<method>". */
static void meta_name(const char *name, char *out, size_t size) {
    const char *colon = strchr(name, ':');
    int kind_length = colon != NULL ? (int)(colon - name) : (int)strlen(name);
    snprintf(out, size, "resty.zookeeper.%.*s", kind_length, name);
}

/* The client of the object at index 1 (NULL once collected). */
static Client *object_client(lua_State *L) {
    Client *client;
    lua_getfenv(L, 1);
    lua_rawgeti(L, -1, 1);
    client = (Client *)lua_touserdata(L, -1);
    lua_pop(L, 2);
    return client;
}

/* The answer of a call that makes an object (n values on top): its id wrapped as an object of the
 * kind the core names after the id, else of the kind `name` ("<kind>" or "<kind>:<method>")
 * begins with; nil, err, code as they are. The object's environment, `env` (absolute index),
 * holds its client and keeps it alive. */
static int wrap_object(lua_State *L, const char *name, int env, int n) {
    char meta[96];
    int top = lua_gettop(L) - n;
    Object *object;
    if (n < 1 || lua_type(L, top + 1) != LUA_TNUMBER) return n;
    if (n >= 2 && lua_type(L, top + 2) == LUA_TSTRING) name = lua_tostring(L, top + 2);
    meta_name(name, meta, sizeof meta);
    object = (Object *)lua_newuserdata(L, sizeof(Object));
    object->id = lua_tonumber(L, top + 1);
    luaL_getmetatable(L, meta);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, env);
    lua_setfenv(L, -2);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return 1;
}

/* A method of an object: upvalue 1 is its declared name, 2 its kind's metatable name, 3 whether
 * it answers an object (rw:read_lock() a lock, sem:acquire() a lease). */
static int object_method(lua_State *L) {
    const char *method = lua_tostring(L, lua_upvalueindex(1));
    Object *object = (Object *)luaL_checkudata(L, 1, lua_tostring(L, lua_upvalueindex(2)));
    Client *client = object_client(L);
    int n;
    if (client == NULL || client->core == NULL) return push_not_connected(L);
    /* The id goes in as the first argument; the object stays at 1, alive while the call waits. */
    lua_pushnumber(L, object->id);
    lua_insert(L, 2);
    n = invoke_method(L, client, method, 2);
    if (!lua_toboolean(L, lua_upvalueindex(3))) return n;
    /* The new object shares this one's environment: the same client. */
    lua_getfenv(L, 1);
    lua_insert(L, -n - 1);
    n = wrap_object(L, method, lua_gettop(L) - n, n);
    lua_remove(L, -n - 1);
    return n;
}

/* client:<kind>(...): the core's answer, its id wrapped as an object (nil, err, code as they are). */
static int make_object(lua_State *L) {
    Client *client = check_client(L);
    const char *method = lua_tostring(L, lua_upvalueindex(1));
    int n = invoke_method(L, client, method, 2);
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_insert(L, -n - 1);
    n = wrap_object(L, method, lua_gettop(L) - n, n);
    lua_remove(L, -n - 1);
    return n;
}

/* Collected (or its client going): the core gives up the object's work and hands back its callback. */
static int object_gc(lua_State *L) {
    Object *object = (Object *)lua_touserdata(L, 1);
    Client *client = object != NULL ? object_client(L) : NULL;
    if (client == NULL || client->core == NULL || object->id == 0) return 0;
    zkl_drop_object(client->core, object->id);
    object->id = 0;
    release_refs(L, client->core);
    return 0;
}

static int object_tostring(lua_State *L) {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "kind");
    lua_pushfstring(L, "resty.zookeeper %s (%p)", lua_tostring(L, -1), lua_touserdata(L, 1));
    return 1;
}

void push_object_maker(lua_State *L) {
    lua_pushcclosure(L, make_object, 1);
}

/* The metatable of a kind of object, made on its first method, left on the stack. */
static void push_object_metatable(lua_State *L, const char *name, const char *meta) {
    const char *colon = strchr(name, ':');
    if (luaL_newmetatable(L, meta)) {
        lua_pushlstring(L, name, (size_t)(colon - name));
        lua_setfield(L, -2, "kind");
        lua_newtable(L);
        lua_setfield(L, -2, "__index");
        set_lifetime_metamethods(L, object_gc, object_tostring);
    }
}

void register_object_method(lua_State *L, const char *name, int makes_objects) {
    char meta[96];
    meta_name(name, meta, sizeof meta);
    push_object_metatable(L, name, meta);
    lua_getfield(L, -1, "__index");
    lua_pushstring(L, name);
    lua_pushstring(L, meta);
    lua_pushboolean(L, makes_objects);
    lua_pushcclosure(L, object_method, 3);
    lua_setfield(L, -2, strchr(name, ':') + 1);
    lua_pop(L, 2);
}
