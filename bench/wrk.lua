-- wrk script. `-- FILE`: GET a random path from FILE, one per line.
-- `-- POST BODY`: POST the JSON BODY to the URL.
-- `-- POSTS FILE`: POST, in turn, each line of FILE: a path, a tab, a JSON body.
-- `-- GETS FILE`: GET a random line of FILE: a path, a tab, an Authorization header's value.
-- Prints one JSON line of figures at the end.
local paths = {}
local bodies = {}
local next_post = 0
local auths = {}

function init(args)
  if args[1] == "POST" then
    wrk.method = "POST"
    wrk.body = args[2]
    wrk.headers["Content-Type"] = "application/json"
    return
  end
  if args[1] == "POSTS" then
    wrk.headers["Content-Type"] = "application/json"
    for line in io.lines(args[2]) do
      local tab = line:find("\t", 1, true)
      paths[#paths + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
    return
  end
  if args[1] == "GETS" then
    for line in io.lines(args[2]) do
      local tab = line:find("\t", 1, true)
      paths[#paths + 1] = line:sub(1, tab - 1)
      auths[#auths + 1] = line:sub(tab + 1)
    end
  else
    for line in io.lines(args[1]) do
      paths[#paths + 1] = line
    end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  if #paths == 0 then
    return wrk.format()
  end
  if #bodies > 0 then
    next_post = next_post % #paths + 1
    return wrk.format("POST", paths[next_post], nil, bodies[next_post])
  end
  if #auths > 0 then
    local i = math.random(#paths)
    return wrk.format("GET", paths[i], {Authorization = auths[i]})
  end
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"socket_errors":%d,"non2xx":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
