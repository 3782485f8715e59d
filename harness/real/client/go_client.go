// The real:go client: one GET with crypto/tls's own certificate selection
// (tls.Config.Certificates, no GetClientCertificate), standard library only.
// Arguments: url version ca-file timeout-secs [chain key]...
// Environment: MTLS_GO_RENEGOTIATION=once sets tls.RenegotiateOnceAsClient;
// MTLS_GO_HTTP2=1 offers h2 (http.Transport.ForceAttemptHTTP2).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func fail(err error) {
	fmt.Printf("ERROR %v\n", err)
	os.Exit(1)
}

func main() {
	url, version, caFile := os.Args[1], os.Args[2], os.Args[3]
	secs, _ := strconv.Atoi(os.Args[4])
	pairs := os.Args[5:]
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		fail(err)
	}
	pool.AppendCertsFromPEM(ca)
	var certs []tls.Certificate
	for i := 0; i+1 < len(pairs); i += 2 {
		c, err := tls.LoadX509KeyPair(pairs[i], pairs[i+1])
		if err != nil {
			fail(err)
		}
		certs = append(certs, c)
	}
	v := uint16(tls.VersionTLS13)
	if version == "1.2" {
		v = tls.VersionTLS12
	}
	cfg := &tls.Config{RootCAs: pool, Certificates: certs, MinVersion: v, MaxVersion: v, ServerName: "localhost"}
	if os.Getenv("MTLS_GO_RENEGOTIATION") == "once" {
		cfg.Renegotiation = tls.RenegotiateOnceAsClient
	}
	transport := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	if os.Getenv("MTLS_GO_HTTP2") == "1" {
		transport.ForceAttemptHTTP2 = true
	}
	client := &http.Client{
		Timeout:   time.Duration(secs) * time.Second,
		Transport: transport,
	}
	resp, err := client.Get(url)
	if err != nil {
		fail(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fail(err)
	}
	fmt.Printf("HTTP %d\n%s", resp.StatusCode, body)
}
