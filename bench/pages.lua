-- wrk script: GET <path>?<query>&page=N, N cycling 0 … PAGES-1 per thread,
-- so every page of a listing is asked for in turn (a static-site plugin
-- fetching a whole site). Arguments: the query (without `page`), PAGES.
local query, pages, n = "", 1, 0

function init(args)
    query = args[1]
    pages = tonumber(args[2])
end

function request()
    local path = wrk.path .. "?" .. query .. "&page=" .. n
    n = (n + 1) % pages
    return wrk.format("GET", path)
end
