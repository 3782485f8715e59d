// The real:java client: one GET with JSSE's own certificate selection (the
// PKIX key manager over a PKCS#12 key store holding the wallet in order).
// Arguments: url ca-file timeout-secs password [pkcs12]...
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class MtlsClient {
    public static void main(String[] a) {
        try {
            String url = a[0], ca = a[1];
            int secs = Integer.parseInt(a[2]);
            char[] pass = a[3].toCharArray();
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            for (int i = 4; i < a.length; i++) {
                KeyStore one = KeyStore.getInstance("PKCS12");
                try (InputStream in = new FileInputStream(a[i])) {
                    one.load(in, pass);
                }
                String alias = one.aliases().nextElement();
                keys.setKeyEntry((i - 4) + "-" + alias, one.getKey(alias, pass), pass,
                        one.getCertificateChain(alias));
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            kmf.init(keys, pass);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            int n = 0;
            try (InputStream in = new FileInputStream(ca)) {
                for (java.security.cert.Certificate c : cf.generateCertificates(in)) {
                    trust.setCertificateEntry("ca" + (n++), c);
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            HttpsURLConnection c = (HttpsURLConnection) new URL(url).openConnection();
            c.setSSLSocketFactory(ctx.getSocketFactory());
            c.setConnectTimeout(secs * 1000);
            c.setReadTimeout(secs * 1000);
            int status = c.getResponseCode();
            InputStream body = status >= 400 ? c.getErrorStream() : c.getInputStream();
            String text = body == null ? "" : new String(body.readAllBytes(), StandardCharsets.UTF_8);
            System.out.print("HTTP " + status + "\n" + text);
        } catch (Exception e) {
            System.out.println("ERROR " + e);
            System.exit(1);
        }
    }
}
