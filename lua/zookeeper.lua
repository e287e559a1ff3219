-- The original client's module name; the same module as resty.zookeeper.
return require("resty.zookeeper")
