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

-- Word sizes a table without column widths to its content: LibreOffice then broke words in
-- narrow columns ("Respond-ents", "Workforc-e", "Yorkshir-e") and left the table at 60% of the
-- page. In Word each table fills the text width (about LINE characters of 10 pt table text on
-- A4, cell margins included).
-- Every column gets its longest word and PADDING (a word is never broken). What is left of the
-- line is shared out as water fills vessels: each column wants its longest value (up to
-- WIDEST_CELL characters); the columns that want least are given all they want first, so short
-- values (a count, an interval) stay on one line and long text (a question) wraps between words.
-- Headings only claim their longest word: they wrap first ("Ethnic / minority / people").
local LINE = 86
local PADDING = 3
local WIDEST_CELL = 28

local function text_length(text)
  return utf8.len(text) or #text
end

local function column_needs(tbl)
  local floor, want = {}, {}
  local function measure(rows, values)
    for _, row in ipairs(rows) do
      local j = 1
      for _, cell in ipairs(row.cells) do
        if cell.col_span == 1 then
          local text = pandoc.utils.stringify(cell.contents)
          local word = 0
          for piece in text:gmatch("%S+") do
            word = math.max(word, text_length(piece))
          end
          floor[j] = math.max(floor[j] or PADDING, word + PADDING)
          if values then
            want[j] = math.max(want[j] or 0, math.min(text_length(text), WIDEST_CELL) + PADDING)
          end
        end
        j = j + cell.col_span
      end
    end
  end
  measure(tbl.head.rows, false)
  for _, body in ipairs(tbl.bodies) do
    measure(body.head, false)
    measure(body.body, true)
  end
  return floor, want
end

local function widths(tbl)
  local floor, want = column_needs(tbl)
  local width, left, short = {}, LINE, {}
  for j = 1, #tbl.colspecs do
    width[j] = floor[j] or PADDING
    left = left - width[j]
    if (want[j] or 0) > width[j] then
      short[#short + 1] = j
    end
  end
  table.sort(short, function(a, b) return want[a] - width[a] < want[b] - width[b] end)
  for position, j in ipairs(short) do
    if left <= 0 then
      break
    end
    local given = math.min(want[j] - width[j], left / (#short - position + 1))
    width[j] = width[j] + given
    left = left - given
  end
  local total = 0
  for j = 1, #tbl.colspecs do
    total = total + width[j]
  end
  for j, colspec in ipairs(tbl.colspecs) do
    tbl.colspecs[j] = { colspec[1], width[j] / total }
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
  if FORMAT:match("docx") then
    return blocks:walk({ Table = widths })
  end
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
