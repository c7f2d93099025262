using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OcpTalkdesk.Gateway.Tests.Integration;
using OcpTalkdesk.Gateway.Tokens;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Tokens;

public sealed class BearerTokenTests
{
    [Fact]
    public async Task Forwarded_event_carries_the_bearer_token_instead_of_the_inbound_authorization()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        using var request = new HttpRequestMessage(HttpMethod.Post, GatewayHost.EventsPath) { Content = Samples.Json(Samples.Bytes("message_created")) };
        request.Headers.Authorization = new("Basic", "dGFsa2Rlc2s6aW5ib3VuZA==");

        var response = await host.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = Assert.Single(host.Ocp.LogEntries).RequestMessage.Headers!;
        Assert.Equal("Bearer " + GatewayHost.FirstToken, Assert.Single(headers["Authorization"]));
    }

    [Fact]
    public async Task Client_secret_basic_sends_the_credentials_in_a_basic_header()
    {
        var form = await TokenRequestFormAsync(new() { ["Gateway:TokenClients:ocp:Scope"] = "digital-connect:write", ["Gateway:TokenClients:ocp:Parameters:audience"] = "ocp" });

        Assert.Equal("client_credentials", form.Form["grant_type"]);
        Assert.Equal("digital-connect:write", form.Form["scope"]);
        Assert.Equal("ocp", form.Form["audience"]);
        Assert.False(form.Form.ContainsKey("client_secret"));
        var expected = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{GatewayHost.ClientId}:{Uri.EscapeDataString(GatewayHost.ClientSecret)}"));
        Assert.Equal("Basic " + expected, form.Authorization);
    }

    [Fact]
    public async Task Client_secret_post_sends_the_credentials_as_form_fields()
    {
        var form = await TokenRequestFormAsync(new() { ["Gateway:TokenClients:ocp:ClientAuthentication"] = "client_secret_post" });

        Assert.Equal(GatewayHost.ClientId, form.Form["client_id"]);
        Assert.Equal(GatewayHost.ClientSecret, form.Form["client_secret"]);
        Assert.Null(form.Authorization);
    }

    [Theory]
    [InlineData("ec")]
    [InlineData("rsa")]
    public async Task Private_key_jwt_sends_an_assertion_that_verifies_with_the_public_key(string keyType)
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        var (privateKey, publicKey) = keyType == "ec"
            ? (ec.ExportPkcs8PrivateKeyPem(), (SecurityKey)new ECDsaSecurityKey(ec))
            : (Convert.ToBase64String(rsa.ExportPkcs8PrivateKey()), new RsaSecurityKey(rsa));

        var form = await TokenRequestFormAsync(new()
        {
            ["Gateway:TokenClients:ocp:ClientAuthentication"] = "private_key_jwt",
            ["Gateway:TokenClients:ocp:ClientSecret"] = null,
            ["Gateway:TokenClients:ocp:PrivateKey"] = privateKey,
            ["Gateway:TokenClients:ocp:KeyId"] = "talkdesk-key-1",
        });

        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form.Form["client_assertion_type"]);
        Assert.Null(form.Authorization);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(form.Form["client_assertion"].ToString(), new TokenValidationParameters
        {
            ValidIssuer = GatewayHost.ClientId,
            ValidAudience = form.TokenEndpoint,
            IssuerSigningKey = publicKey,
            RequireExpirationTime = true,
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.Equal(GatewayHost.ClientId, jwt.Subject);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        Assert.Equal("talkdesk-key-1", jwt.Kid);
        Assert.True(jwt.ValidTo > DateTime.UtcNow && jwt.ValidTo <= DateTime.UtcNow.AddMinutes(2));
    }

    [Fact]
    public async Task Upstream_401_renews_the_token_and_resends_the_event_once()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost().WithHeader("Authorization", "Bearer " + GatewayHost.FirstToken))
            .RespondWith(Response.Create().WithStatusCode(401));
        host.Ocp.Given(Request.Create().UsingPost().WithHeader("Authorization", "Bearer token-BBB-2"))
            .RespondWith(Response.Create().WithStatusCode(202).WithBody("delivered"));
        var client = host.CreateClient();
        await WarmAsync(host);
        host.IssueTokens("token-BBB-2");
        var body = Samples.Bytes("conversation_started");

        var response = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("delivered", await response.Content.ReadAsStringAsync());
        var received = host.Ocp.LogEntries.Select(e => e.RequestMessage).ToArray();
        Assert.Equal(2, received.Length);
        Assert.Equal(["Bearer " + GatewayHost.FirstToken, "Bearer token-BBB-2"], received.Select(r => r.Headers!["Authorization"].Single()));
        Assert.All(received, r => Assert.Equal(body, r.BodyAsBytes));
        Assert.Single(host.TokenEndpoint.LogEntries);
    }

    [Fact]
    public async Task A_second_401_passes_back_to_the_caller()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("WWW-Authenticate", "Bearer error=\"invalid_token\""));
        var client = host.CreateClient();
        await WarmAsync(host);
        host.IssueTokens("token-CCC-3");

        var response = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal(2, host.Ocp.LogEntries.Count);
    }

    [Fact]
    public async Task Token_endpoint_down_and_no_cached_token_gets_503_and_nothing_is_forwarded()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>());
        host.TokenEndpoint.Reset();
        host.TokenEndpoint.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithStatusCode(400).WithHeader("Content-Type", "application/json").WithBody("{\"error\":\"invalid_client\"}"));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("urn:ocp-gateway:problem:credentials-unavailable", text, StringComparison.Ordinal);
        Assert.Contains("invalid_client", text, StringComparison.Ordinal);
        Assert.Empty(host.Ocp.LogEntries);
    }

    [Fact]
    public void Cluster_naming_an_unknown_token_client_fails_start_up()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { ["ReverseProxy:Clusters:ocp:Metadata:TokenClient"] = "nobody" });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("ReverseProxy:Clusters:ocp:Metadata:TokenClient", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Gateway:TokenClients:ocp:TokenEndpoint", "")]
    [InlineData("Gateway:TokenClients:ocp:ClientId", "")]
    [InlineData("Gateway:TokenClients:ocp:ClientSecret", "")]
    [InlineData("Gateway:TokenClients:ocp:ClientAuthentication", "magic")]
    public void Bad_token_client_setting_fails_start_up_naming_the_key(string key, string value)
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(GatewayHost.ClientSecret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unreadable_private_key_fails_start_up_without_echoing_it()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>
        {
            ["Gateway:TokenClients:ocp:ClientAuthentication"] = "private_key_jwt",
            ["Gateway:TokenClients:ocp:PrivateKey"] = "bm90LWEta2V5LXNlY3JldA==",
        });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("Gateway:TokenClients:ocp:PrivateKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("bm90LWEta2V5LXNlY3JldA==", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Sends one event and returns the form and Authorization header of the token request it caused.</summary>
    private static async Task<(Dictionary<string, Microsoft.Extensions.Primitives.StringValues> Form, string? Authorization, string TokenEndpoint)> TokenRequestFormAsync(
        Dictionary<string, string?> settings)
    {
        using var host = GatewayHost.Create(settings);
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));

        var response = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tokenRequest = host.TokenEndpoint.LogEntries[0].RequestMessage;
        var authorization = tokenRequest.Headers!.TryGetValue("Authorization", out var values) ? values.Single() : null;
        return (QueryHelpers.ParseQuery(tokenRequest.Body), authorization, host.TokenEndpoint.Url + GatewayHost.TokenPath);
    }

    /// <summary>Lets the first token arrive (the start-up warm-up or the first event's fetch) before the test's event.</summary>
    private static async Task WarmAsync(GatewayHost host)
    {
        var cache = (TokenCache)host.Services.GetService(typeof(TokenCache))!;
        await cache.GetAsync("ocp", CancellationToken.None);
    }
}
