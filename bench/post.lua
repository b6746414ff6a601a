-- wrk script: POST a registration with a fresh email address on every request.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"name": "Bench Person", "email": "bench-%d-%d@example.org", "consent": true}', tid, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
