// One session of the official TypeScript SDK client against the sandbox, run by
// tests/e2e/test_mcp_clients.py: it prints one JSON line of what the client saw, and the
// test checks it. The SDK is the 1.x package (@modelcontextprotocol/sdk) or the 2.x one
// (@modelcontextprotocol/client), both pinned in package.json.
//
//   tsx ts_client.ts --sdk 1|2 --http URL TOKEN
//   tsx ts_client.ts --sdk 1|2 --stdio COMMAND [ARG...]
//
// Over stdio the server gets this process's environment, and its stderr is kept: when
// the server is mcp-remote (a stdio proxy to the HTTP endpoint), that is where it says
// why it could not connect.
import { readFileSync } from "node:fs";

type Args = { sdk: string; http?: { url: string; token: string }; stdio?: { command: string; args: string[] } };

function parse(argv: string[]): Args {
  const sdk = argv[argv.indexOf("--sdk") + 1];
  const at = argv.indexOf("--http");
  if (at >= 0) return { sdk, http: { url: argv[at + 1], token: argv[at + 2] } };
  const rest = argv.slice(argv.indexOf("--stdio") + 1);
  return { sdk, stdio: { command: rest[0], args: rest.slice(1) } };
}

// The SDK's own modules, by major version: the API used here is the same in both.
async function sdk(major: string) {
  if (major === "1") {
    const client = await import("@modelcontextprotocol/sdk/client/index.js");
    const http = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    const stdio = await import("@modelcontextprotocol/sdk/client/stdio.js");
    return { Client: client.Client, Http: http.StreamableHTTPClientTransport, Stdio: stdio.StdioClientTransport };
  }
  const client = await import("@modelcontextprotocol/client");
  const stdio = await import("@modelcontextprotocol/client/stdio");
  return { Client: client.Client, Http: client.StreamableHTTPClientTransport, Stdio: stdio.StdioClientTransport };
}

function packageVersion(major: string): string {
  const name = major === "1" ? "@modelcontextprotocol/sdk" : "@modelcontextprotocol/client";
  const manifest = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(manifest, "utf-8")).version;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function text(result: Any): string {
  return (result.content ?? []).map((block: Any) => block.text ?? "").join("");
}

const serverStderr: string[] = [];

async function connect(args: Args, token: string | undefined) {
  const { Client, Http, Stdio } = await sdk(args.sdk);
  const client: Any = new Client({ name: "executor-ts-check", version: "1.0.0" });
  let transport: Any;
  if (args.http) {
    const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
    transport = new Http(new URL(args.http.url), { requestInit: { headers } });
  } else {
    const env = process.env as Record<string, string>;
    transport = new Stdio({ command: args.stdio!.command, args: args.stdio!.args, env, stderr: "pipe" });
    transport.stderr?.on("data", (chunk: Buffer) => serverStderr.push(chunk.toString()));
  }
  // The version the handshake settled on: the client hands it to the transport.
  const seen = { protocolVersion: "" };
  const set = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (version: string) => {
    seen.protocolVersion = version;
    set?.(version);
  };
  await client.connect(transport);
  return { client, seen };
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const report: Record<string, unknown> = {
    client: args.sdk === "1" ? "TypeScript SDK 1.x" : "TypeScript SDK 2.x",
    version: packageVersion(args.sdk),
    transport: args.http ? "streamable-http" : "stdio",
  };
  let connected;
  try {
    connected = await connect(args, args.http?.token);
  } catch (error) {
    report.connect_error = String(error);
    report.server_stderr = serverStderr.join("");
    console.log(JSON.stringify(report));
    return;
  }
  const { client, seen } = connected;
  try {
    report.protocol_version = seen.protocolVersion || client.getNegotiatedProtocolVersion?.() || "";
    report.server = client.getServerVersion()?.name;
    const tools = await client.listTools();
    report.tools = tools.tools.map((tool: Any) => tool.name).sort();
    const ran = await client.callTool({
      name: "run_python",
      arguments: { code: "import json\nprint(json.dumps({'a': 1}))\n6 * 7" },
    });
    report.run = { is_error: ran.isError ?? false, structured: ran.structuredContent, text: text(ran) };
    const stopped = await client.callTool({ name: "run_python", arguments: { code: "while True:\n    pass", timeout_s: 1 } });
    report.timeout = { is_error: stopped.isError ?? false, structured: stopped.structuredContent, text: text(stopped) };
    // A session, as an agent keeps state: start it, two calls, end it.
    const started = await client.callTool({ name: "start_session", arguments: {} });
    const sessionId = (started.structuredContent as Any).session_id;
    await client.callTool({ name: "run_python", arguments: { code: "rows = [1, 2]", session_id: sessionId } });
    const kept = await client.callTool({ name: "run_python", arguments: { code: "sum(rows)", session_id: sessionId } });
    const ended = await client.callTool({ name: "end_session", arguments: { session_id: sessionId } });
    report.session = { kept: (kept.structuredContent as Any).result, ended_is_error: ended.isError ?? false };
    const info = await client.readResource({ uri: "sandbox://info" });
    report.info = JSON.parse(info.contents[0].text);
  } finally {
    await client.close();
  }
  if (args.http) {
    // A wrong token: what the client reports, and whether it tried OAuth (it has no auth
    // provider here; mcp-remote, which has one, is checked separately).
    try {
      const refused = await connect(args, "wrong-token");
      await refused.client.close();
      report.auth_error = "";
    } catch (error) {
      report.auth_error = String(error);
    }
  }
  console.log(JSON.stringify(report));
}

await main();
