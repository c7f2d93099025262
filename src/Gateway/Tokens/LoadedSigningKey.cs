using Microsoft.IdentityModel.Tokens;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>A loaded private key with the JWS algorithm it signs with.</summary>
internal sealed class LoadedSigningKey(AsymmetricSecurityKey key, string algorithm, IDisposable owner) : IDisposable
{
    public AsymmetricSecurityKey Key { get; } = key;

    public string Algorithm { get; } = algorithm;

    public void Dispose() => owner.Dispose();
}
