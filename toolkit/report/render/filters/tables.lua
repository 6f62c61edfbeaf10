--[[
Raw HTML tables (great_tables output passed through from the notebook) become pandoc Table
elements for formats that cannot carry raw HTML (docx, typst), so Word gets real w:tbl tables
and the PDF real typst tables. HTML output keeps the raw HTML unchanged.
]]

if FORMAT:match("html") then
  return {}
end

function RawBlock(raw)
  if not raw.format:match("html") or not raw.text:find("<table") then
    return nil
  end
  -- <style> sheets are presentation for the browser only; drop them before reading.
  local html = raw.text:gsub("<style.-</style>", "")
  return pandoc.read(html, "html").blocks
end
