-- The hand-written alternative: bench/run's CORS policy as an Envoy Lua filter script
-- (envoy.filters.http.lua), written the way such scripts usually are, but correct for the
-- policy: exact origins and one subdomain wildcard, credentials, preflights checked (method,
-- each requested header) and answered with 204 or refused with 403, Vary on every answer,
-- and an upstream's own Access-Control-Allow-Origin replaced rather than duplicated.
-- The request phase passes the granted origin to the response phase in dynamic metadata,
-- the Lua filter's way of keeping per-request state. Envoy runs envoy_on_response on the
-- filter's own local replies too, so a preflight answer is marked there and left alone.

local ALLOWED_ORIGINS = {
  ["https://app.example.com"] = true,
  ["https://admin.example.com"] = true,
}
-- https://*.example.org: one or more DNS labels before .example.org.
local WILDCARD = "^https://[%w%-]+[%w%-%.]*%.example%.org$"
local ALLOWED_METHODS = { GET = true, HEAD = true, POST = true, PUT = true, DELETE = true }
local ALLOWED_HEADERS = { ["content-type"] = true, ["authorization"] = true }
local PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"

local function origin_allowed(origin)
  if ALLOWED_ORIGINS[origin] then
    return true
  end
  return origin:find(WILDCARD) ~= nil and origin:find("..", 1, true) == nil
end

local function headers_allowed(list)
  if list == nil then
    return true
  end
  for name in list:gmatch("[^,%s]+") do
    if not ALLOWED_HEADERS[name:lower()] then
      return false
    end
  end
  return true
end

local function lists(list, token)
  for item in list:gmatch("[^,%s]+") do
    local lower = item:lower()
    if lower == token or lower == "*" then
      return true
    end
  end
  return false
end

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local origin = headers:get("origin")
  if origin == nil then
    return
  end
  local allowed = origin_allowed(origin)
  local method = headers:get(":method")
  local requested = headers:get("access-control-request-method")
  if method == "OPTIONS" and requested ~= nil then
    request_handle:streamInfo():dynamicMetadata():set("cors", "preflight", true)
    if not (allowed and ALLOWED_METHODS[requested]
            and headers_allowed(headers:get("access-control-request-headers"))) then
      request_handle:respond({ [":status"] = "403", ["vary"] = PREFLIGHT_VARY }, "")
      return
    end
    request_handle:respond({
      [":status"] = "204",
      ["access-control-allow-origin"] = origin,
      ["access-control-allow-credentials"] = "true",
      ["access-control-allow-methods"] = "GET, POST, PUT, DELETE",
      ["access-control-allow-headers"] = "Content-Type, Authorization",
      ["access-control-max-age"] = "600",
      ["vary"] = PREFLIGHT_VARY,
    }, "")
    return
  end
  if allowed then
    request_handle:streamInfo():dynamicMetadata():set("cors", "origin", origin)
  end
end

function envoy_on_response(response_handle)
  local cors = response_handle:streamInfo():dynamicMetadata():get("cors")
  if cors ~= nil and cors["preflight"] then
    return
  end
  local headers = response_handle:headers()
  local vary = headers:get("vary")
  if vary == nil then
    headers:add("vary", "Origin")
  elseif not lists(vary, "origin") then
    headers:replace("vary", vary .. ", Origin")
  end
  if cors ~= nil and cors["origin"] ~= nil then
    headers:replace("access-control-allow-origin", cors["origin"])
    headers:replace("access-control-allow-credentials", "true")
    headers:replace("access-control-expose-headers", "X-Request-Id")
  else
    headers:remove("access-control-allow-origin")
    headers:remove("access-control-allow-credentials")
  end
end
