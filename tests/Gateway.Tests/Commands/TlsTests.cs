using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OcpTalkdesk.Gateway.Tests.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Commands;

/// <summary>
/// HTTPS at the edge through Kestrel's own endpoint settings, as README "TLS at the edge" gives them: a PEM
/// certificate and key, HTTP/1.1 and HTTP/2, TLS 1.2 at least, the management port still served, and a
/// renewed certificate file picked up without a restart. The real process, with a certificate made here.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-tls-").FullName;

    // Trust exactly the certificates this test made (pinned by thumbprint).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _issued = new(StringComparer.OrdinalIgnoreCase);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string CertFile => Path.Combine(_folder, "tls.crt");

    private string KeyFile => Path.Combine(_folder, "tls.key");

    /// <summary>Writes a new self-signed certificate for 127.0.0.1 and returns its thumbprint.</summary>
    private string WriteCertificate(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Key first: the watcher reloads on the certificate file, which then finds its key.
        File.WriteAllText(KeyFile, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(CertFile, certificate.ExportCertificatePem());
        _issued[certificate.Thumbprint] = true;
        return certificate.Thumbprint;
    }

    private bool Issued(X509Certificate? certificate) => certificate is not null && _issued.ContainsKey(certificate.GetCertHashString());

    private async Task<(string Thumbprint, SslProtocols Protocol, string Alpn)> HandshakeAsync(int port, SslProtocols protocols)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = protocols,
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = (_, certificate, _, _) => Issued(certificate),
        });
        return (tls.RemoteCertificate!.GetCertHashString(), tls.SslProtocol, tls.NegotiatedApplicationProtocol.ToString());
    }

    /// <summary>
    /// Whether a new connection gets the certificate. Kestrel re-binds the endpoint to change it, so a
    /// connection in that moment is refused (README, "TLS at the edge"): that counts as "not yet".
    /// </summary>
    private async Task<bool> ServesAsync(int port, string thumbprint)
    {
        try
        {
            return (await HandshakeAsync(port, SslProtocols.Tls12 | SslProtocols.Tls13)).Thumbprint == thumbprint;
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Serves_https_with_http2_and_tls12_keeps_the_management_port_and_picks_up_a_renewed_certificate()
    {
        var first = WriteCertificate("gateway-first");
        var httpsPort = Ports.Closed();
        var environment = GatewayProcess.Complete();
        environment["Kestrel__Endpoints__Https__Url"] = $"https://127.0.0.1:{httpsPort}";
        environment["Kestrel__Endpoints__Https__Certificate__Path"] = CertFile;
        environment["Kestrel__Endpoints__Https__Certificate__KeyPath"] = KeyFile;
        environment["Kestrel__Endpoints__Https__Protocols"] = "Http1AndHttp2";
        environment["Kestrel__Endpoints__Https__SslProtocols__0"] = "Tls12";
        environment["Kestrel__Endpoints__Https__SslProtocols__1"] = "Tls13";
        // StartAsync waits for /healthz on the management port: it is served beside the HTTPS endpoint.
        await using var gateway = await RunningGateway.StartAsync(environment);

        var tls12 = await HandshakeAsync(httpsPort, SslProtocols.Tls12);
        using var client = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => Issued(certificate) } });
        using var request = new HttpRequestMessage(HttpMethod.Post, $"https://127.0.0.1:{httpsPort}{GatewayHost.EventsPath}")
        {
            Content = Samples.Json(Samples.Bytes("message_created")),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var refused = await client.SendAsync(request);

        Assert.Equal(first, tls12.Thumbprint);
        Assert.Equal(SslProtocols.Tls12, tls12.Protocol);
        Assert.Equal("h2", tls12.Alpn);
        // Without the API key: the gateway itself answered, over HTTP/2 on TLS.
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpVersion.Version20, refused.Version);

        var renewed = WriteCertificate("gateway-renewed");
        Assert.True(await Eventually.HoldsAsync(() => ServesAsync(httpsPort, renewed)), "the renewed certificate was not served: " + gateway.Output);
        Assert.Equal(renewed, (await HandshakeAsync(httpsPort, SslProtocols.Tls13)).Thumbprint);
    }
}
