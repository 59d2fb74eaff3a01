// A second, independent XML-DSig verifier for the receipts' tests: the JDK's own implementation
// (javax.xml.crypto, Apache Santuario inside the JDK) and its PKIX path builder, trusting only the root given.
// The path is built from the certificates the signature carries (KeyInfo/X509Data) and nothing else.
// Usage: java XmlDsigVerify.java ROOT.pem RECEIPT.xml   (exit 0 and "valid" when both hold)
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXCertPathBuilderResult;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import javax.xml.XMLConstants;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public class XmlDsigVerify {
    static final String DS = "http://www.w3.org/2000/09/xmldsig#";

    public static void main(String[] args) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate root = (X509Certificate) cf.generateCertificate(Files.newInputStream(Path.of(args[0])));
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setNamespaceAware(true);
        dbf.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document doc = dbf.newDocumentBuilder().parse(Files.newInputStream(Path.of(args[1])));
        NodeList all = doc.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (e.hasAttribute("Id")) e.setIdAttribute("Id", true);
        }
        NodeList signatures = doc.getElementsByTagNameNS(DS, "Signature");
        if (signatures.getLength() != 1) fail("expected one signature, found " + signatures.getLength());
        Element signature = (Element) signatures.item(0);
        NodeList certNodes = signature.getElementsByTagNameNS(DS, "X509Certificate");
        List<X509Certificate> carried = new ArrayList<>();
        for (int i = 0; i < certNodes.getLength(); i++) {
            byte[] der = Base64.getMimeDecoder().decode(certNodes.item(i).getTextContent());
            carried.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
        }
        if (carried.isEmpty()) fail("the signature carries no certificate");
        X509Certificate signer = carried.get(0);

        // The path from the signer to the root, from the carried certificates only.
        X509CertSelector target = new X509CertSelector();
        target.setCertificate(signer);
        PKIXBuilderParameters params = new PKIXBuilderParameters(Set.of(new TrustAnchor(root, null)), target);
        params.setRevocationEnabled(false);
        params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(carried)));
        PKIXCertPathBuilderResult path = (PKIXCertPathBuilderResult) CertPathBuilder.getInstance("PKIX").build(params);

        DOMValidateContext ctx = new DOMValidateContext(signer.getPublicKey(), signature);
        ctx.setProperty("org.jcp.xml.dsig.secureValidation", Boolean.TRUE);
        XMLSignature xmlSignature = XMLSignatureFactory.getInstance("DOM").unmarshalXMLSignature(ctx);
        boolean valid = xmlSignature.validate(ctx);
        int ok = 0;
        for (Object r : xmlSignature.getSignedInfo().getReferences()) {
            if (((Reference) r).validate(ctx)) ok++;
        }
        if (!valid) fail("signature invalid; references ok " + ok);
        System.out.println("valid: path of " + (path.getCertPath().getCertificates().size() + 1)
            + " certificates to the root; references ok " + ok + "/"
            + xmlSignature.getSignedInfo().getReferences().size());
    }

    static void fail(String why) {
        System.out.println("invalid: " + why);
        System.exit(1);
    }
}
