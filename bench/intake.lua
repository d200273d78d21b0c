-- wrk script for webmention intake (webmention.sh, storage.sh): POSTs
-- form-encoded webmentions whose sources are all different, so every
-- request is a new mention. Arguments after `--`: a run label, the
-- percent-encoded source base URL and the percent-encoded target; each wrk
-- thread numbers its requests, and the label and thread number keep the
-- sources unique across runs and threads.
local counter = 0
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
function init(args)
    label = args[1]
    source_base = args[2]
    target = args[3]
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
function request()
    counter = counter + 1
    local body = "source=" .. source_base .. label .. "-" .. tid .. "-" .. counter
        .. "&target=" .. target
    return wrk.format(nil, nil, nil, body)
end
