namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>Sends one client-credentials token request. Implemented with Duende.IdentityModel; the cache's tests fake it.</summary>
internal interface ITokenEndpoint
{
    Task<TokenEndpointResult> RequestAsync(string tokenClient, TokenClientOptions options, CancellationToken cancellationToken);
}
