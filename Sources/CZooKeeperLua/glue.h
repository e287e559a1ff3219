/*
 * Private to the Lua glue (the .c files of this directory): what its files share. Nothing here
 * is exported from the library (hidden visibility); the C ABI to the Swift core is
 * include/zookeeper_lua.h.
 */
#ifndef ZOOKEEPER_LUA_GLUE_H
#define ZOOKEEPER_LUA_GLUE_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "zookeeper_lua.h"

#define GLUE __attribute__((visibility("hidden")))

#define CLIENT_META "resty.zookeeper.client"
#define HANDLE_META "resty.zookeeper.handle"

/* The most bytes the arguments of one call may take. */
#define MAX_ARGS_BYTES (64u * 1024u * 1024u)

typedef struct {
    void *core; /* NULL once closed by __gc */
} Client;

/* ---- value_stream.c: Lua values <-> the value stream of zookeeper_lua.h ---------------------- */

/* Encodes stack values first..last as a stream in a userdata (collected even if we raise) and
 * leaves it on the stack; raises `bad argument #n to 'function'` on a value that cannot cross. */
GLUE const uint8_t *encode_stream(lua_State *L, const char *function, int first, int last, size_t *length);

/* Pushes every value of a stream; returns how many (raises on a malformed stream). */
GLUE int push_stream(lua_State *L, const uint8_t *bytes, size_t length);

/* ---- callbacks.c: housekeeping the core asks for, and callbacks ------------------------------ */

/* Releases the registry references the core handed back. */
GLUE void release_refs(lua_State *L, void *core);

/* Prints the core's debug lines with the global `print`. */
GLUE void print_log_lines(lua_State *L, void *core);

/* Runs every due callback under a protected call: an error is reported, never raised. */
GLUE void run_callbacks(lua_State *L, void *core);

/* nil, "not connected", CLOSED (zk.errors.CLOSED, -1001): what any call answers once the core
 * is gone. */
GLUE int push_not_connected(lua_State *L);

/* ---- client.c: the client object and its methods --------------------------------------------- */

GLUE Client *check_client(lua_State *L);

/* Calls `method` with the stack values from `first` on and answers as a method does. */
GLUE int invoke_method(lua_State *L, Client *client, const char *method, int first);

/* Starts `method` with the arguments from stack index `first` to the top. */
GLUE int32_t start_call(lua_State *L, Client *client, const char *method, int first, uint64_t *ticket,
                        const uint8_t **reply, size_t *reply_length);

/* Waits (running the callbacks that come due) for a ticket and takes its reply. */
GLUE int32_t await_call(lua_State *L, Client *client, uint64_t ticket, const uint8_t **reply, size_t *reply_length);

/* Registers the client metatable and sets the module's functions (new, helpers) in the table
 * on top of the stack. */
GLUE void register_client(lua_State *L);

/* Sets __gc, __tostring and a locked __metatable on the metatable on top of the stack. */
GLUE void set_lifetime_metamethods(lua_State *L, lua_CFunction gc, lua_CFunction tostring);

/* Pushes the declared methods and their flags (cosocket.lua wraps the same methods). */
GLUE void push_method_table(lua_State *L);

/* ---- handles.c: client:<method>_async(...) and its handle ------------------------------------ */

GLUE int call_async(lua_State *L);
GLUE void register_handle_metatable(lua_State *L);

/* ---- objects.c: recipe objects (client:lock(path)...) --------------------------------------- */

/* With the method's name on top of the stack: replaces it with the client method that makes
 * objects of that kind. */
GLUE void push_object_maker(lua_State *L);

/* Registers "<kind>:<method>" as a method of the objects of that kind; `makes_objects`: its answer
 * is an object too. */
GLUE void register_object_method(lua_State *L, const char *name, int makes_objects);

/* ---- retry.c: client:retry(fn [, policy]) ---------------------------------------------------- */

GLUE int client_retry(lua_State *L);

/* ---- hosted.c: the cosocket driver's primitives ----------------------------------------------- */

/* Pushes the table of primitives cosocket.lua drives a hosted client with. */
GLUE void push_hosted_table(lua_State *L);

#endif
