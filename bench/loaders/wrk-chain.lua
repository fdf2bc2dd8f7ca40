-- Token chaining for wrk (refresh-token rotation): every request spends one token and its
-- response brings the next. wrk calls response() before it builds that connection's next request,
-- so a queue shared by the connections of the thread always holds a token when one is needed.
-- wrk calls request() once more than it has connections at start: the bench adds spare tokens.
-- The bench prepends CHAIN_TOKENS_FILE, CHAIN_BEFORE, CHAIN_AFTER and CHAIN_FIELD.
local queue, head, tail = {}, 1, 0
for line in io.lines(CHAIN_TOKENS_FILE) do
  if #line > 0 then
    tail = tail + 1
    queue[tail] = line
  end
end
local pattern = '"' .. CHAIN_FIELD .. '"%s*:%s*"([^"]+)"'

request = function()
  local token = ""
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format(nil, nil, nil, CHAIN_BEFORE .. token .. CHAIN_AFTER)
end

response = function(status, headers, body)
  if status >= 200 and status < 300 then
    local token = body:match(pattern)
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end
