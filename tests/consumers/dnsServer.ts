// A tiny authoritative DNS server on 127.0.0.1 (UDP) for consumer tests that need names to stop and
// start resolving at run time (Docker's embedded DNS drops a service alias while it has no task).
// It answers A queries for the names in `records` and NXDOMAIN for any other name; AAAA queries of a
// known name get an empty NOERROR answer. Wire format: RFC 1035 section 4.
import * as dgram from "dgram";

export interface TestDns {
  port: number;
  /** name -> IPv4 address; change it at any time. */
  records: Map<string, string>;
  close(): Promise<void>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i] !== 0) {
    const len = msg[i];
    labels.push(msg.subarray(i + 1, i + 1 + len).toString("ascii"));
    i += len + 1;
  }
  return { name: labels.join(".").toLowerCase(), end: i + 1 };
}

function answer(query: Buffer, records: Map<string, string>): Buffer {
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const known = records.get(name);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  const rcode = known === undefined ? 3 : 0; // NXDOMAIN : NOERROR
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | rcode, 2); // QR AA, RD copied
  header.writeUInt16BE(1, 4);
  const withA = known !== undefined && qtype === 1;
  header.writeUInt16BE(withA ? 1 : 0, 6);
  if (!withA) return Buffer.concat([header, question]);
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
  rr.writeUInt16BE(1, 2); // A
  rr.writeUInt16BE(1, 4); // IN
  rr.writeUInt32BE(1, 6); // TTL 1 s
  rr.writeUInt16BE(4, 10);
  known.split(".").forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
  return Buffer.concat([header, question, rr]);
}

export function startTestDns(records: Record<string, string>): Promise<TestDns> {
  const map = new Map(Object.entries(records));
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    try {
      socket.send(answer(msg, map), rinfo.port, rinfo.address);
    } catch {
      // a malformed query gets no answer
    }
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve({ port: socket.address().port, records: map, close: () => new Promise((r) => socket.close(() => r())) }));
  });
}
