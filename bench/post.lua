-- wrk script: POST a registration with a fresh email address on every request.
-- Each thread's addresses carry a random run id: the benchmark runs wrk several
-- times against one seminar, and a repeated address would take the cheaper
-- "already registered" path instead of a real registration.
local counter = 0
local threads = {}
local urandom = io.open("/dev/urandom", "rb")
local run = string.format("%02x%02x%02x%02x", urandom:read(4):byte(1, 4))
urandom:close()

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"name": "Bench Person", "email": "bench-%s-%d-%d@example.org", "consent": true}', run, tid, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
