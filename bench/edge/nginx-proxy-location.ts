/**
 * Nginx's `location /` that proxies to the `app_server` upstream, as both edge benches write it:
 * HTTP/1.1 with keep-alive upstream connections and the same forwarded fields the front sends.
 * `echoRequestId`: also return the request id to the client, as the front does on every response.
 */
export function nginxProxyLocation(echoRequestId: boolean): string {
  return `
        location / {
            proxy_pass http://app_server;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $request_id;${echoRequestId ? '\n            add_header X-Request-Id $request_id;' : ''}
        }`;
}
