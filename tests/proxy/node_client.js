// A Node client that tunnels through an HTTP proxy with CONNECT (Node 20's fetch ignores
// proxy variables). Usage: node node_client.js PROXY_PORT HOST PORT PATH
const http = require('http'), tls = require('tls'), fs = require('fs');
const [proxyPort, host, port, path] = process.argv.slice(2);
const ca = fs.readFileSync(process.env.NODE_EXTRA_CA_CERTS);
const req = http.request({host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: `${host}:${port}`});
req.on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.log(`CONNECT ${res.statusCode} ${res.statusMessage}`); process.exit(3); }
  const s = tls.connect({socket, servername: host, ca}, () => {
    s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`);
  });
  let out = ''; s.on('data', d => out += d); s.on('end', () => { console.log(out.split('\r\n\r\n')[1]); });
});
req.end();
