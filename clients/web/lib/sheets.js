// Spreadsheet files in the browser, no library: CSV (UTF-8 or GB18030) and XLSX (Office Open
// XML: a ZIP of XML parts) read into rows, and rows written back as CSV or XLSX downloads.
//
//   const rows = await readSheet(file);   // [{n: 2, cells: ['900001', '测试酸奶', ...]}, ...]
//   downloadXlsx('catalog.xlsx', [['sku', 'name'], ['900001', '酸奶']]);
//
// `n` is the row number a person sees: the CSV record (1 = the header) or the sheet's row.
// XLSX numbers are given as JavaScript writes them ("4.1", never "4.0999999999999996").

// -- CSV ---------------------------------------------------------------------------------------
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', q = false, n = 1, start = 1;
  text = text.replace(/^\uFEFF/, '');
  const end = () => {
    row.push(field); field = '';
    if (row.some(x => x !== '')) rows.push({ n: start, cells: row });
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') q = false;
      else { if (c === '\n') n++; field += c; }
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      end();
      n++;
      start = n;
    } else field += c;
  }
  end();
  return rows;
}

function csvField(v) {
  const s = v === null || v === undefined ? '' : String(v);
  // a leading = + - @ would be a formula in a spreadsheet: quoted with a ' (as gatewayd/exports)
  const safe = /^[=+\-@]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(rows) {
  return '\uFEFF' + rows.map(r => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

// -- ZIP (what XLSX needs: stored or deflated entries) -----------------------------------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xFFFFFFFF;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xFF] ^ (c >>> 8);
  return (c ^ 0xFFFFFFFF) >>> 0;
}

/** files: [[name, Uint8Array]] -> the ZIP's bytes (entries stored, not compressed). */
function zip(files) {
  const enc = new TextEncoder();
  const parts = [], central = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = enc.encode(name);
    const crc = crc32(data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true); // names in UTF-8
    local.setUint32(14, crc, true);
    local.setUint32(18, data.length, true);
    local.setUint32(22, data.length, true);
    local.setUint16(26, nameBytes.length, true);
    parts.push(new Uint8Array(local.buffer), nameBytes, data);
    const dir = new DataView(new ArrayBuffer(46));
    dir.setUint32(0, 0x02014b50, true);
    dir.setUint16(4, 20, true);
    dir.setUint16(6, 20, true);
    dir.setUint16(8, 0x0800, true);
    dir.setUint32(16, crc, true);
    dir.setUint32(20, data.length, true);
    dir.setUint32(24, data.length, true);
    dir.setUint16(28, nameBytes.length, true);
    dir.setUint32(42, offset, true);
    central.push(new Uint8Array(dir.buffer), nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const size = central.reduce((a, b) => a + b.length, 0);
  const endRec = new DataView(new ArrayBuffer(22));
  endRec.setUint32(0, 0x06054b50, true);
  endRec.setUint16(8, files.length, true);
  endRec.setUint16(10, files.length, true);
  endRec.setUint32(12, size, true);
  endRec.setUint32(16, offset, true);
  return new Blob([...parts, ...central, new Uint8Array(endRec.buffer)]);
}

/** The ZIP's entries by name: name -> async () => Uint8Array. */
function unzip(buf) {
  const view = new DataView(buf);
  let eocd = -1;
  for (let i = buf.byteLength - 22; i >= Math.max(0, buf.byteLength - 65557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a ZIP file');
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  const entries = new Map();
  for (let k = 0; k < count; k++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error('bad ZIP directory');
    const method = view.getUint16(p + 10, true);
    const csize = view.getUint32(p + 20, true);
    const nlen = view.getUint16(p + 28, true), xlen = view.getUint16(p + 30, true), clen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = dec.decode(new Uint8Array(buf, p + 46, nlen));
    entries.set(name, async () => {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const raw = new Uint8Array(buf, start, csize);
      if (method === 0) return raw;
      if (method !== 8) throw new Error(`ZIP method ${method} is not supported`);
      const out = new Blob([raw]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
      return new Uint8Array(await new Response(out).arrayBuffer());
    });
    p += 46 + nlen + xlen + clen;
  }
  return entries;
}

// -- XLSX --------------------------------------------------------------------------------------
const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
  // characters XML 1.0 cannot carry
  .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');

function colName(i) {
  let s = '';
  for (i += 1; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(65 + ((i - 1) % 26)) + s;
  return s;
}

/** rows (arrays of strings and numbers) -> an XLSX Blob with one sheet. Text stays text (a
 *  sku "0012" keeps its zeros); numbers are numbers. */
export function xlsxBlob(rows, sheet = 'Sheet1') {
  const enc = new TextEncoder();
  const body = rows.map((r, y) => `<row r="${y + 1}">${r.map((v, x) => {
    const ref = `${colName(x)}${y + 1}`;
    if (v === null || v === undefined || v === '') return '';
    if (typeof v === 'number' && isFinite(v)) return `<c r="${ref}"><v>${v}</v></c>`;
    return `<c r="${ref}" t="inlineStr"><is><t xml:space="preserve">${esc(v)}</t></is></c>`;
  }).join('')}</row>`).join('');
  const files = [
    ['[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'],
    ['_rels/.rels', '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'],
    ['xl/workbook.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="${esc(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>`],
    ['xl/_rels/workbook.xml.rels', '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'],
    ['xl/worksheets/sheet1.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${body}</sheetData></worksheet>`],
  ];
  return zip(files.map(([n, s]) => [n, enc.encode(s)]));
}

function xml(bytes) {
  return new DOMParser().parseFromString(new TextDecoder().decode(bytes), 'application/xml');
}
const byTag = (node, tag) => [...node.getElementsByTagNameNS('*', tag)];

/** The first sheet of an XLSX file as rows [{n, cells}]. */
export async function readXlsx(buf) {
  const entries = unzip(buf);
  const part = async name => (entries.has(name) ? xml(await entries.get(name)()) : null);
  let target = 'xl/worksheets/sheet1.xml';
  const wb = await part('xl/workbook.xml');
  const rels = await part('xl/_rels/workbook.xml.rels');
  if (wb && rels) {
    const first = byTag(wb, 'sheet')[0];
    const rid = first && (first.getAttribute('r:id') || first.getAttributeNS('http://schemas.openxmlformats.org/officeDocument/2006/relationships', 'id'));
    const rel = byTag(rels, 'Relationship').find(r => r.getAttribute('Id') === rid);
    if (rel) {
      const t = rel.getAttribute('Target');
      target = t.startsWith('/') ? t.slice(1) : `xl/${t}`;
    }
  }
  const sheet = await part(target);
  if (!sheet) throw new Error('the workbook has no sheet');
  const ss = await part('xl/sharedStrings.xml');
  const strings = ss ? byTag(ss, 'si').map(si => byTag(si, 't').map(t => t.textContent).join('')) : [];
  const rows = [];
  for (const r of byTag(sheet, 'row')) {
    const cells = [];
    let next = 0;
    for (const c of byTag(r, 'c')) {
      const ref = c.getAttribute('r');
      let x = next;
      if (ref) {
        const letters = ref.match(/^[A-Z]+/)[0];
        x = [...letters].reduce((a, ch) => a * 26 + ch.charCodeAt(0) - 64, 0) - 1;
      }
      const type = c.getAttribute('t');
      const v = byTag(c, 'v')[0];
      let text = '';
      if (type === 's') text = strings[parseInt(v ? v.textContent : '', 10)] ?? '';
      else if (type === 'inlineStr') text = byTag(c, 't').map(t => t.textContent).join('');
      else if (type === 'b') text = v && v.textContent === '1' ? 'true' : 'false';
      else if (v) text = type === 'str' || type === 'e' ? v.textContent : String(Number(v.textContent));
      while (cells.length < x) cells.push('');
      cells[x] = text;
      next = x + 1;
    }
    if (cells.some(v => v !== '')) rows.push({ n: parseInt(r.getAttribute('r'), 10) || rows.length + 1, cells });
  }
  return rows;
}

/** A file chosen by the user: .xlsx read as a workbook, anything else as CSV. */
export async function readSheet(file) {
  const buf = await file.arrayBuffer();
  const head = new Uint8Array(buf, 0, Math.min(4, buf.byteLength));
  if (head[0] === 0x50 && head[1] === 0x4B) return readXlsx(buf); // "PK": a ZIP
  let text;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(buf); } catch (x) { text = new TextDecoder('gb18030').decode(buf); }
  return parseCsv(text);
}

function download(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

export function downloadXlsx(name, rows) { download(name, xlsxBlob(rows)); }
export function downloadCsv(name, rows) { download(name, new Blob([toCsv(rows)], { type: 'text/csv' })); }
