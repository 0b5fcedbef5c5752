-- wrk script for bench/load.py: POST one line of $HMS_POSTS per request, never the same line
-- twice (of $HMS_WRK_THREADS threads, thread k takes lines k, k + n, k + 2n, ...). A line is
-- "path<TAB>cookie<TAB>form body". Once the lines run out, every request is a 404, counted
-- among the errors, so a short list shows instead of repeating posts.
local created, posts, index, step = 0, {}, 0, 1

function setup(thread)
  thread:set("offset", created)
  created = created + 1
end

function init(args)
  for line in io.lines(os.getenv("HMS_POSTS")) do
    local path, cookie, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
    if path then posts[#posts + 1] = {path = path, cookie = cookie, body = body} end
  end
  step = tonumber(os.getenv("HMS_WRK_THREADS"))
  index = offset + 1
end

function request()
  local post = posts[index] or {path = "/bench-posts-ran-out", cookie = "", body = ""}
  index = index + step
  return wrk.format("POST", post.path, {
    ["Cookie"] = post.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, post.body)
end
