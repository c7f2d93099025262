using System.Collections.Concurrent;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// The OAuth 2.0 client-credentials request (RFC 6749 §4.4) through Duende.IdentityModel, with the
/// three client authentication methods; for <c>private_key_jwt</c> it signs an RFC 7523 assertion.
/// </summary>
internal sealed class TokenEndpointClient(IHttpClientFactory httpClients, TimeProvider time) : ITokenEndpoint, IDisposable
{
    public const string HttpClientName = "token-endpoint";

    /// <summary>How long a client assertion is valid; it is used once, right away.</summary>
    private static readonly TimeSpan AssertionLifetime = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, LoadedSigningKey> _keys = new(StringComparer.Ordinal);
    private readonly JsonWebTokenHandler _jwtHandler = new() { SetDefaultTimesOnTokenCreation = false };

    public async Task<TokenEndpointResult> RequestAsync(string tokenClient, TokenClientOptions options, CancellationToken cancellationToken)
    {
        var request = new ClientCredentialsTokenRequest
        {
            Address = options.TokenEndpoint!.AbsoluteUri,
            ClientId = options.ClientId!,
            Scope = string.IsNullOrWhiteSpace(options.Scope) ? null : options.Scope,
        };
        foreach (var (name, value) in options.Parameters)
        {
            request.Parameters.Add(name, value);
        }

        switch (options.ClientAuthentication)
        {
            case ClientAuthenticationMethods.ClientSecretPost:
                request.ClientSecret = options.ClientSecret;
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                break;
            case ClientAuthenticationMethods.PrivateKeyJwt:
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                request.ClientAssertion = new ClientAssertion
                {
                    Type = OidcConstants.ClientAssertionTypes.JwtBearer,
                    Value = CreateAssertion(tokenClient, options),
                };
                break;
            default:
                request.ClientSecret = options.ClientSecret;
                request.ClientCredentialStyle = ClientCredentialStyle.AuthorizationHeader;
                break;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RequestTimeout);
        var client = httpClients.CreateClient(HttpClientName);
        using var response = await client.RequestClientCredentialsTokenAsync(request, timeout.Token);

        if (!response.IsError && !string.IsNullOrEmpty(response.AccessToken))
        {
            return TokenEndpointResult.Success(response.AccessToken, response.ExpiresIn);
        }

        var answered = response.HttpResponse is not null;
        return TokenEndpointResult.Failure(response.ErrorType switch
        {
            // The endpoint's own OAuth error code (RFC 6749 §5.2), whatever the HTTP status.
            _ when OAuthErrorCode(response.TryGet("error")) is { } code => code,
            ResponseErrorType.Exception when timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested => "timeout",
            // It answered 2xx, but not with a token response (not JSON, or no access_token).
            ResponseErrorType.Exception when answered && (int)response.HttpStatusCode is >= 200 and < 300 => "invalid_token_response",
            ResponseErrorType.Exception when !answered => "unreachable",
            _ when response.HttpStatusCode != 0 && (int)response.HttpStatusCode >= 300 => $"http_{(int)response.HttpStatusCode}",
            _ => "invalid_token_response",
        });
    }

    /// <summary>The error code if it is one (RFC 6749's character set, short): it reaches logs and answers.</summary>
    private static string? OAuthErrorCode(string? code)
    {
        if (string.IsNullOrEmpty(code) || code.Length > 64)
        {
            return null;
        }

        foreach (var c in code)
        {
            if (c is < ' ' or > '~' or '"' or '\\')
            {
                return null;
            }
        }

        return code;
    }

    /// <summary>An RFC 7523 client assertion: iss = sub = client id, aud = token endpoint, fresh jti.</summary>
    internal string CreateAssertion(string tokenClient, TokenClientOptions options)
    {
        var key = _keys.GetOrAdd(tokenClient, static (_, o) =>
        {
            var loaded = SigningKeyLoader.Load(o);
            loaded.Key.KeyId = o.KeyId;
            return loaded;
        }, options);
        var now = time.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.ClientId,
            Audience = options.TokenEndpoint!.AbsoluteUri,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + AssertionLifetime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = options.ClientId!,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
            SigningCredentials = new SigningCredentials(key.Key, key.Algorithm),
        };
        return _jwtHandler.CreateToken(descriptor);
    }

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }
}
