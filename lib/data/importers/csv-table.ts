/**
 * A small RFC 4180 CSV reader for label files (quoted fields, "" escapes, CRLF or LF, a BOM).
 * Every problem names the file, the line and what was expected, so a user can fix the file.
 */
import { ImlmError } from '../../errors';
import { readRegularFile } from '../json-file';

export interface CsvRow {
  /** 1-based line of the file where the row starts (the header is line 1). */
  line: number;
  values: Record<string, string>;
}

export interface CsvTable {
  file: string;
  header: string[];
  rows: CsvRow[];
}

/** Splits CSV text into records of fields, with the line each record starts on. */
export function parseCsv(text: string, file: string): Array<{ line: number; fields: string[] }> {
  const records: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) throw new ImlmError(`${file}: line ${recordLine}: a quoted field is not closed (expected a closing ")`, 'ERR_FORMAT');
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/** ERR_FORMAT naming the file when the header lacks any of `required`. */
export function requireColumns(file: string, header: readonly string[], required: readonly string[]): void {
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new ImlmError(
      `${file}: line 1: the header lacks the column(s) ${missing.map((c) => `'${c}'`).join(', ')} (expected ${required.map((c) => `'${c}'`).join(', ')}; found ${header.map((c) => `'${c}'`).join(', ')})`,
      'ERR_FORMAT',
    );
  }
}

/**
 * Reads a CSV file with a header line; `required` columns must be there. Rows with another
 * number of fields than the header are refused.
 */
export async function readCsvTable(file: string, required: readonly string[]): Promise<CsvTable> {
  // A regular file only: a FIFO given as the label file is refused, never read (it would block).
  const text = (await readRegularFile(file, `a CSV label file with the columns ${required.join(', ')}`)).toString('utf8');
  const records = parseCsv(text, file);
  if (records.length === 0) throw new ImlmError(`${file} is empty (expected a header line with the columns ${required.join(', ')})`, 'ERR_FORMAT');
  const header = records[0].fields.map((h) => h.trim());
  requireColumns(file, header, required);
  // Trailing unnamed header columns may be absent from the rows: NIH's Data_Entry_2017.csv has a
  // header ending in ',' (12 names, the last empty) above rows of 11 fields.
  let optional = 0;
  while (optional < header.length && header[header.length - 1 - optional] === '') optional++;
  const rows = records.slice(1).map(({ line, fields }) => {
    if (fields.length > header.length || fields.length < header.length - optional) {
      throw new ImlmError(`${file}: line ${line}: expected ${header.length} fields (${header.join(', ')}) but found ${fields.length}`, 'ERR_FORMAT');
    }
    return { line, values: Object.fromEntries(header.map((h, k) => [h, (fields[k] ?? '').trim()])) };
  });
  return { file, header, rows };
}
