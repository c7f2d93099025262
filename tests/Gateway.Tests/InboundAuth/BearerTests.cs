using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace OcpTalkdesk.Gateway.Tests.InboundAuth;

/// <summary>Bearer tokens from the operator's identity provider (a WireMock JWKS or metadata document here).</summary>
public sealed class BearerTests : IDisposable
{
    private const string Issuer = "https://idp.example/";
    private const string Audience = "ocp-gateway";
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly RsaSecurityKey _key;
    private readonly WireMockServer _idp = WireMockServer.Start();

    public BearerTests()
    {
        _key = new RsaSecurityKey(_rsa) { KeyId = "idp-key-1" };
        var parameters = _rsa.ExportParameters(false);
        var jwks = JsonSerializer.Serialize(new
        {
            keys = new[]
            {
                new { kty = "RSA", use = "sig", alg = "RS256", kid = "idp-key-1", n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
            },
        });
        _idp.Given(Request.Create().WithPath("/jwks").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody(jwks));
        _idp.Given(Request.Create().WithPath("/.well-known/openid-configuration").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(JsonSerializer.Serialize(new { issuer = Issuer, jwks_uri = _idp.Url + "/jwks" })));
    }

    public void Dispose()
    {
        _idp.Stop();
        _idp.Dispose();
        _rsa.Dispose();
    }

    [Theory]
    [InlineData("JwksUri")]
    [InlineData("MetadataAddress")]
    public async Task Valid_token_with_the_scope_is_forwarded_without_it(string keySource)
    {
        using var host = Host(keySource);

        var response = await SendAsync(host, Token());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var forwarded = Assert.Single(host.Ocp.LogEntries).RequestMessage.Headers!;
        Assert.Equal("Bearer " + GatewayHost.FirstToken, Assert.Single(forwarded["Authorization"]));
    }

    [Fact]
    public async Task Missing_expired_and_wrong_audience_tokens_get_401()
    {
        using var host = Host("MetadataAddress");

        var missing = await SendAsync(host, null);
        var expired = await SendAsync(host, Token(expires: DateTime.UtcNow.AddMinutes(-5)));
        var wrongAudience = await SendAsync(host, Token(audience: "someone-else"));
        var wrongKey = await SendAsync(host, Token(key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = "idp-key-1" }));

        Assert.All([missing, expired, wrongAudience, wrongKey], r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.StartsWith("Bearer", expired.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("application/problem+json", expired.Content.Headers.ContentType?.MediaType);
        Assert.Empty(host.Ocp.LogEntries);
    }

    [Fact]
    public async Task A_token_without_the_required_scope_gets_403()
    {
        using var host = Host("MetadataAddress");

        var response = await SendAsync(host, Token(scope: "digital-connect:read"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("urn:ocp-gateway:problem:forbidden", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(host.Ocp.LogEntries);
    }

    private GatewayHost Host(string keySource)
    {
        var host = GatewayHost.Create(new Dictionary<string, string?>
        {
            ["Gateway:InboundAuth:idp:Type"] = "Bearer",
            [$"Gateway:InboundAuth:idp:{keySource}"] = keySource == "JwksUri" ? _idp.Url + "/jwks" : _idp.Url + "/.well-known/openid-configuration",
            ["Gateway:InboundAuth:idp:Audience"] = Audience,
            ["Gateway:InboundAuth:idp:RequiredScope"] = "ocp:events",
            ["Gateway:InboundAuth:idp:RequireHttpsMetadata"] = "false",
            ["ReverseProxy:Routes:talkdesk-events:AuthorizationPolicy"] = "idp",
        });
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        return host;
    }

    private string Token(string audience = Audience, string scope = "ocp:events digital-connect:write", DateTime? expires = null, SecurityKey? key = null)
    {
        var expiry = expires ?? DateTime.UtcNow.AddMinutes(10);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            IssuedAt = expiry.AddMinutes(-20),
            NotBefore = expiry.AddMinutes(-20),
            Expires = expiry,
            Claims = new Dictionary<string, object> { ["scope"] = scope, ["sub"] = "talkdesk" },
            SigningCredentials = new SigningCredentials(key ?? _key, SecurityAlgorithms.RsaSha256),
        });
    }

    private static Task<HttpResponseMessage> SendAsync(GatewayHost host, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(Samples.Bytes("conversation_ended")) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return host.CreateAnonymousClient().SendAsync(request);
    }
}
