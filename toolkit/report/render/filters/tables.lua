--[[
Raw HTML tables (great_tables output passed through from the notebook) become pandoc Table
elements for formats that cannot carry raw HTML (docx, typst), so Word gets real w:tbl tables
and the PDF real typst tables (a short one kept whole on one page). HTML output keeps the raw
HTML unchanged.
]]

if FORMAT:match("html") then
  return {}
end

-- A table of at most this many printed lines fits on one page (9 pt text, compact rows: see
-- report-header.typ), so the PDF never splits it; a longer one breaks between rows. A row's
-- lines are estimated from its text (about 90 characters to a line across the page), so a
-- short table of long wrapped rows is never kept whole past the page foot.
local WHOLE_ON_ONE_PAGE = 35
local CHARACTERS_PER_LINE = 90

local function row_lines(row)
  local characters = 0
  for _, cell in ipairs(row.cells) do
    characters = characters + #pandoc.utils.stringify(cell.contents) + 2
  end
  return math.max(1, math.ceil(characters / CHARACTERS_PER_LINE))
end

local function line_count(tbl)
  local lines = 2  -- the caption
  local function add(rows)
    for _, row in ipairs(rows) do
      lines = lines + row_lines(row)
    end
  end
  add(tbl.head.rows)
  add(tbl.foot.rows)
  for _, body in ipairs(tbl.bodies) do
    add(body.head)
    add(body.body)
  end
  return lines
end

-- great_tables aligns each cell by a class (gt_left, gt_right, gt_center), which pandoc's HTML
-- reader keeps on the cell but does not turn into the column's alignment: without this every
-- column of the PDF and Word tables was centred, group names and indicator labels too.
local ALIGNMENTS = { gt_left = "AlignLeft", gt_right = "AlignRight", gt_center = "AlignCenter" }

local function aligned(tbl)
  local first = tbl.bodies[1] and tbl.bodies[1].body[1]
  for j, colspec in ipairs(tbl.colspecs) do
    local alignment = "AlignLeft"
    local cell = first and first.cells[j]
    for _, class in ipairs(cell and cell.attr.classes or {}) do
      alignment = ALIGNMENTS[class] or alignment
    end
    tbl.colspecs[j] = { alignment, colspec[2] }
  end
  return tbl
end

function RawBlock(raw)
  if not raw.format:match("html") or not raw.text:find("<table") then
    return nil
  end
  -- <style> sheets are presentation for the browser only; drop them before reading.
  local html = raw.text:gsub("<style.-</style>", "")
  local blocks = pandoc.read(html, "html").blocks:walk({ Table = aligned })
  if not FORMAT:match("typst") then
    return blocks
  end
  -- great_tables wraps its table in a <div>: count lines at any depth, and keep the whole
  -- wrapper unbroken (so the sticky "Table N" label before it moves with the table).
  local lines = 0
  blocks:walk({ Table = function(tbl) lines = lines + line_count(tbl) end })
  if lines == 0 or lines > WHOLE_ON_ONE_PAGE then
    return blocks
  end
  local kept = pandoc.Blocks({ pandoc.RawBlock("typst", "#block(breakable: false)[") })
  kept:extend(blocks)
  kept:insert(pandoc.RawBlock("typst", "]"))
  return kept
end
