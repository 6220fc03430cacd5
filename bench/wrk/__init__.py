"""wrk, the HTTP load generator, and the Lua script that feeds it request bodies."""
