--[[
Quarto-style cross-references without Quarto.
- Figures with an id `fig-...` and table divs with an id `tbl-...` (attribute `tbl-cap`) are
  numbered in document order; their captions become "Figure N: caption" / "Table N: caption".
- An image's `fig-alt` attribute becomes its alt text (the description pandoc writes as the
  HTML alt attribute and the Word picture description; for typst, an `image(..., alt: ...)`
  call, since pandoc's typst writer drops alt text).
- Citations `@fig-x` / `@tbl-x` become links "Figure N" / "Table N" to the element; an unknown
  label is written as "?@fig-x", as Quarto does.
]]

local NAMES = { fig = "Figure", tbl = "Table" }
local numbers = {}
local counts = { fig = 0, tbl = 0 }

local function number(id)
  local kind = id:match("^(%a+)%-")
  if not kind or not NAMES[kind] or numbers[id] then
    return nil
  end
  counts[kind] = counts[kind] + 1
  numbers[id] = NAMES[kind] .. " " .. counts[kind]
  return numbers[id]
end

local function prefixed(name, inlines)
  local result = pandoc.Inlines({ pandoc.Str(name .. ":"), pandoc.Space() })
  result:extend(inlines)
  return result
end

local function typst_string(text)
  return '"' .. text:gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
end

local function set_alt(image)
  local alt = image.attributes["fig-alt"]
  if not alt then
    return nil
  end
  image.attributes["fig-alt"] = nil
  image.caption = pandoc.Inlines(alt)
  if FORMAT == "typst" then
    -- pandoc's typst writer drops alt text; typst's image() carries it into the tagged PDF.
    local call = "image(" .. typst_string(image.src) .. ", alt: " .. typst_string(alt) .. ")"
    return pandoc.RawInline("typst", "#box(" .. call .. ")")
  end
  return image
end

local function number_figure(figure)
  local name = number(figure.identifier)
  if not name then
    return nil
  end
  local long = figure.caption.long
  if #long == 0 then
    figure.caption.long = pandoc.Blocks({ pandoc.Plain({ pandoc.Str(name) }) })
  else
    long[1].content = prefixed(name, long[1].content)
  end
  return figure
end

-- great_tables prints a table's title as the first row of its head: one cell across every
-- column. Taken out of the table, it becomes the caption after "Table N:" (one line, as
-- Quarto writes a table's caption), instead of a lone "Table N" above the title.
local function take_title(div)
  local title = nil
  div.content = div.content:walk({
    Table = function(tbl)
      local first = tbl.head.rows[1]
      if title or not first or #first.cells ~= 1 or #tbl.colspecs < 2
          or first.cells[1].col_span ~= #tbl.colspecs then
        return nil
      end
      title = pandoc.utils.blocks_to_inlines(first.cells[1].contents)
      tbl.head.rows:remove(1)
      return tbl
    end,
  })
  return title
end

local function number_table(div)
  local name = number(div.identifier)
  if not name then
    return nil
  end
  local caption = div.attributes["tbl-cap"]
  div.attributes["tbl-cap"] = nil
  local title = caption and pandoc.Inlines(caption) or take_title(div)
  local text = title and prefixed(name, title) or pandoc.Inlines(name)
  local caption_block = pandoc.Div({ pandoc.Para(text) }, { class = "table-caption" })
  if FORMAT:match("docx") then
    -- Word: pandoc's "Table Caption" style keeps the caption on the page where its table starts
    caption_block.attributes["custom-style"] = "Table Caption"
  end
  div.content:insert(1, caption_block)
  if FORMAT:match("typst") then
    -- keep "Table N" on the page where its table starts: a sticky block, next to the table
    -- in the same flow (inside the caption's own block it would have nothing to stick to)
    div.content:insert(1, pandoc.RawBlock("typst", "#block(sticky: true)["))
    div.content:insert(3, pandoc.RawBlock("typst", "]"))
  end
  return div
end

local function resolve(cite)
  local links = pandoc.Inlines({})
  for index, citation in ipairs(cite.citations) do
    local id = citation.id
    local kind = id:match("^(%a+)%-")
    if not kind or not NAMES[kind] then
      return nil
    end
    if index > 1 then
      links:extend({ pandoc.Str(","), pandoc.Space() })
    end
    if numbers[id] then
      links:insert(pandoc.Link(numbers[id], "#" .. id))
    else
      links:insert(pandoc.Strong({ pandoc.Str("?@" .. id) }))
    end
  end
  return links
end

function Pandoc(doc)
  doc = doc:walk({ Image = set_alt })
  doc = doc:walk({ Figure = number_figure, Div = number_table })
  return doc:walk({ Cite = resolve })
end
