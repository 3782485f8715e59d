// mtls-harness real:tomcat: the page every request gets. Embedded in the
// harness (harness/real/render/tomcat.rs) and compiled with the installed
// JDK against Tomcat's servlet API once per source.
//
// "authenticated: <subject>" when JSSE accepted a client certificate,
// "anonymous" without one; each request is logged.
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.security.cert.X509Certificate;

public class Whoami extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        X509Certificate[] certs =
                (X509Certificate[]) req.getAttribute("jakarta.servlet.request.X509Certificate");
        resp.setContentType("text/plain");
        resp.setHeader("Connection", "close");
        String who = (certs != null && certs.length > 0)
                ? "authenticated: " + certs[0].getSubjectX500Principal().getName()
                : "anonymous";
        log(req.getRemoteAddr() + ":" + req.getRemotePort() + " 200 " + who);
        resp.getWriter().print(who + "\n");
    }
}
