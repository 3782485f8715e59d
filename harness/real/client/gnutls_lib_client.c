/* libgnutls's default client-certificate selection, measured: every
 * identity loaded with gnutls_certificate_set_x509_key_file (wallet order),
 * no retrieve callback, so the library chooses. One GET / over HTTP/1.0.
 * Usage: PORT VERSION(1.2|1.3) SERVER_CA SECONDS [CHAIN KEY]...
 * Prints "HTTP <status>\n<body>" or "ERROR <message>". */
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(const char *what, int r) {
    printf("ERROR %s: %s\n", what, r < 0 ? gnutls_strerror(r) : "failed");
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 5 || (argc - 5) % 2 != 0) {
        printf("ERROR usage: PORT VERSION SERVER_CA SECONDS [CHAIN KEY]...\n");
        return 2;
    }
    const char *port = argv[1], *version = argv[2], *ca = argv[3];
    int seconds = atoi(argv[4]);
    gnutls_certificate_credentials_t cred;
    gnutls_session_t s;
    int r;
    gnutls_global_init();
    gnutls_certificate_allocate_credentials(&cred);
    r = gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM);
    if (r <= 0) return fail("server CA", r);
    for (int i = 5; i + 1 < argc; i += 2) {
        r = gnutls_certificate_set_x509_key_file(cred, argv[i], argv[i + 1], GNUTLS_X509_FMT_PEM);
        if (r < 0) return fail(argv[i], r);
    }
    gnutls_init(&s, GNUTLS_CLIENT);
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", strlen("localhost"));
    gnutls_session_set_verify_cert(s, "localhost", 0);
    r = gnutls_priority_set_direct(s, strcmp(version, "1.2") == 0
        ? "NORMAL:-VERS-ALL:+VERS-TLS1.2" : "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
    if (r < 0) return fail("priority", r);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);

    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo("127.0.0.1", port, &hints, &res) != 0) return fail("address", 0);
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    struct timeval tv = {seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) return fail("connect", 0);
    freeaddrinfo(res);
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, seconds * 1000);
    do {
        r = gnutls_handshake(s);
    } while (r < 0 && !gnutls_error_is_fatal(r));
    if (r < 0) {
        if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
            printf("ERROR handshake: alert %s\n", gnutls_alert_get_name(gnutls_alert_get(s)));
        else
            printf("ERROR handshake: %s\n", gnutls_strerror(r));
        return 1;
    }
    char req[128];
    snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: localhost:%s\r\n\r\n", port);
    r = gnutls_record_send(s, req, strlen(req));
    if (r < 0) return fail("send", r);
    static char buf[1 << 16];
    size_t n = 0;
    for (;;) {
        r = gnutls_record_recv(s, buf + n, sizeof buf - 1 - n);
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) continue;
        if (r <= 0 || n + r >= sizeof buf - 1) break;
        n += r;
    }
    buf[n] = 0;
    int status;
    if (n == 0 || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
            printf("ERROR response: alert %s\n", gnutls_alert_get_name(gnutls_alert_get(s)));
        else
            printf("ERROR response: %s\n", r < 0 ? gnutls_strerror(r) : "no response");
        return 1;
    }
    char *body = strstr(buf, "\r\n\r\n");
    printf("HTTP %d\n%s", status, body ? body + 4 : "");
    gnutls_bye(s, GNUTLS_SHUT_WR);
    close(fd);
    return 0;
}
