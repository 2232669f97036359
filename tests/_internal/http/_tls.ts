/** A throwaway certificate authority and a server certificate it signed, made with the `openssl` CLI. */

/** PEM texts for a TLS test server and its clients. */
export interface TestCertificates {
  /** The authority's certificate, for `caCerts`. */
  caCert: string;
  /** The server certificate, valid for 127.0.0.1 and localhost. */
  cert: string;
  /** The server certificate's private key. */
  key: string;
}

/** Makes a fresh CA and server certificate in a temporary folder, removed afterwards. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir();
  try {
    const run = async (...args: string[]) => {
      const { success, stderr } = await new Deno.Command("openssl", {
        args,
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      })
        .output();
      if (!success) {
        throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
      }
    };
    await Deno.writeTextFile(`${dir}/san.cnf`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    await run(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=Test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
    );
    await run(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
    );
    await run(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "san.cnf",
      "-out",
      "server.crt",
    );
    return {
      caCert: await Deno.readTextFile(`${dir}/ca.crt`),
      cert: await Deno.readTextFile(`${dir}/server.crt`),
      key: await Deno.readTextFile(`${dir}/server.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
