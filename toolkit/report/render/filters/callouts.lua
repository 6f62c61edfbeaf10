--[[
Quarto callouts: a div with class callout-note, callout-tip, callout-important,
callout-warning or callout-caution. The title is the div's `title` attribute, else its first
heading (removed from the body, so callouts never disturb the heading outline), else the kind.
HTML: <div class="callout callout-KIND" role="note"> with a bold title line (styled by the
report CSS). Other formats: a block quote that starts with the bold title.
]]

local TITLES = {
  note = "Note",
  tip = "Tip",
  important = "Important",
  warning = "Warning",
  caution = "Caution",
}

local function callout_kind(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if kind and TITLES[kind] then
      return kind
    end
  end
  return nil
end

local function take_title(div, kind)
  local title = div.attributes["title"]
  if title then
    return pandoc.Inlines(title), div.content
  end
  local first = div.content[1]
  if first and first.t == "Header" then
    local rest = pandoc.Blocks({})
    for index = 2, #div.content do
      rest:insert(div.content[index])
    end
    return first.content, rest
  end
  return pandoc.Inlines(TITLES[kind]), div.content
end

function Div(div)
  local kind = callout_kind(div)
  if not kind then
    return nil
  end
  local title, body = take_title(div, kind)
  if FORMAT:match("html") then
    local heading = pandoc.Div({ pandoc.Plain({ pandoc.Strong(title) }) }, { class = "callout-title" })
    local blocks = pandoc.Blocks({ heading })
    blocks:extend(body)
    return pandoc.Div(blocks, { class = "callout callout-" .. kind, role = "note" })
  end
  local blocks = pandoc.Blocks({ pandoc.Para({ pandoc.Strong(title) }) })
  blocks:extend(body)
  return pandoc.BlockQuote(blocks)
end
