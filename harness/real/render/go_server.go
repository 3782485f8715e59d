// mtls-harness real:go: a net/http server with client-certificate
// authentication from the standard library only (crypto/tls), configured by
// flags. Embedded in the harness (harness/real/render/go.rs) and built with
// the installed Go toolchain once per source and Go version.
//
// It answers "authenticated: <subject>" when crypto/tls verified the
// certificate (VerifiedChains), "unverified: <subject>" when it only
// received one (RequestClientCert, RequireAnyClientCert), "anonymous"
// without one; every connection's outcome is logged to stderr.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	certFile := flag.String("cert", "", "server certificate chain (PEM)")
	keyFile := flag.String("key", "", "server key (PEM)")
	caFile := flag.String("client-ca", "", "trusted client CAs (PEM); also the CA names sent")
	mode := flag.String("mode", "none", "none|require-and-verify|verify-if-given|request|require-any")
	version := flag.String("tls", "1.3", "1.2|1.3: the one version enabled")
	flag.Parse()
	logger := log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)

	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		logger.Fatalf("server certificate: %v", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	switch *version {
	case "1.2":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	default:
		logger.Fatalf("unknown TLS version %q", *version)
	}
	switch *mode {
	case "none":
		cfg.ClientAuth = tls.NoClientCert
	case "require-and-verify":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case "verify-if-given":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "request":
		cfg.ClientAuth = tls.RequestClientCert
	case "require-any":
		cfg.ClientAuth = tls.RequireAnyClientCert
	default:
		logger.Fatalf("unknown mode %q", *mode)
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			logger.Fatalf("client CAs: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			logger.Fatalf("client CAs: no certificate in %s", *caFile)
		}
		cfg.ClientCAs = pool
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		logger.Fatalf("listen: %v", err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Connection", "close")
		st := r.TLS
		switch {
		case st != nil && len(st.VerifiedChains) > 0:
			logger.Printf("%s 200 client certificate verified: %s", r.RemoteAddr, st.PeerCertificates[0].Subject)
			fmt.Fprintf(w, "authenticated: %s\n", st.PeerCertificates[0].Subject)
		case st != nil && len(st.PeerCertificates) > 0:
			logger.Printf("%s 200 client certificate not verified: %s", r.RemoteAddr, st.PeerCertificates[0].Subject)
			fmt.Fprintf(w, "unverified: %s\n", st.PeerCertificates[0].Subject)
		default:
			logger.Printf("%s 200 no client certificate", r.RemoteAddr)
			fmt.Fprint(w, "anonymous\n")
		}
	})
	srv := &http.Server{Handler: handler, TLSConfig: cfg, ErrorLog: logger}
	logger.Printf("listening on https://%s", ln.Addr())
	logger.Fatal(srv.ServeTLS(ln, "", ""))
}
