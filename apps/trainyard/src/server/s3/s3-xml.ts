import { XMLParser } from 'fast-xml-parser';
import { S3Error } from './s3-error.js';

/** An element: a name and text, a number, a boolean, or child elements (undefined drops it). */
export type XmlElement = [name: string, content: XmlContent];
export type XmlContent = string | number | boolean | undefined | XmlElement[];

const s3Namespace = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(content: XmlContent): string {
  if (Array.isArray(content)) {
    return content
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `<${name}>${render(value)}</${name}>`)
      .join('');
  }
  return escapeXml(String(content ?? ''));
}

/** An S3 response body: the XML declaration and one root element in S3's namespace. */
export function xmlDocument(root: string, children: XmlElement[]): string {
  const ns = root === 'Error' ? '' : ` xmlns="${s3Namespace}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${render(children)}</${root}>`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === 'Object' || name === 'Part',
});

/** Parses a request body (DeleteObjects, CompleteMultipartUpload) into plain objects. @throws MalformedXML */
export function parseRequestXml(body: string): Record<string, unknown> {
  try {
    const parsed = parser.parse(body, true) as Record<string, unknown>;
    if (parsed && typeof parsed === 'object') return parsed;
  } catch {
    // answered below
  }
  throw new S3Error(
    'MalformedXML',
    400,
    'The XML you provided was not well-formed or did not validate against our published schema',
  );
}
