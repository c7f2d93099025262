namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// One OAuth 2.0 client-credentials client (<c>Gateway:TokenClients:&lt;name&gt;</c>) whose token the
/// gateway attaches to calls forwarded to a cluster that names it.
/// </summary>
public sealed class TokenClientOptions
{
    /// <summary>The configuration section that holds one child per token client.</summary>
    public const string SectionName = "Gateway:TokenClients";

    /// <summary>The token endpoint (absolute http or https URL). Required.</summary>
    public Uri? TokenEndpoint { get; set; }

    /// <summary>The client id. Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client secret, for <c>client_secret_basic</c> and <c>client_secret_post</c>. A secret: set it
    /// by environment variable, user secrets or a mounted file, never in appsettings.json.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Space-separated scopes to request. Default: none.</summary>
    public string? Scope { get; set; }

    /// <summary>Extra form parameters of the token request (for example <c>audience</c> or <c>resource</c>).</summary>
    public Dictionary<string, string> Parameters { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How the client authenticates: <c>client_secret_basic</c> (default; HTTP Basic header),
    /// <c>client_secret_post</c> (form fields) or <c>private_key_jwt</c> (a signed client assertion).
    /// </summary>
    public string ClientAuthentication { get; set; } = ClientAuthenticationMethods.ClientSecretBasic;

    /// <summary>For <c>private_key_jwt</c>: the EC or RSA private key, PEM or Base64 PKCS#8. A secret.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>For <c>private_key_jwt</c>: a file holding the key instead of <see cref="PrivateKey"/>.</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>For <c>private_key_jwt</c>: the <c>kid</c> header of the assertion. Optional.</summary>
    public string? KeyId { get; set; }

    /// <summary>How long before expiry the token is renewed in the background. Default 60 s.</summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one token request may take. Default 5 s, below Talkdesk's 10 s action timeout.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between retries of a failing token endpoint (backoff doubles from 1 s). Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
