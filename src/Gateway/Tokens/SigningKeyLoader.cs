using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// Loads the private key of a <c>private_key_jwt</c> client: PEM (PKCS#8, SEC1 or PKCS#1) or Base64
/// PKCS#8, EC or RSA. Error messages name the key, never its content.
/// </summary>
internal static class SigningKeyLoader
{
    /// <summary>The signing credentials; dispose them to release the key.</summary>
    public static LoadedSigningKey Load(TokenClientOptions options)
    {
        string text;
        if (!string.IsNullOrWhiteSpace(options.PrivateKeyFile))
        {
            try
            {
                text = File.ReadAllText(options.PrivateKeyFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"PrivateKeyFile: cannot read '{options.PrivateKeyFile}': {ex.GetType().Name}.", ex);
            }
        }
        else if (!string.IsNullOrWhiteSpace(options.PrivateKey))
        {
            text = options.PrivateKey;
        }
        else
        {
            throw new InvalidOperationException("PrivateKey (or PrivateKeyFile) is required for private_key_jwt.");
        }

        return TryEc(text) ?? TryRsa(text)
            ?? throw new InvalidOperationException("PrivateKey is not a PEM or Base64 PKCS#8 EC or RSA private key.");
    }

    private static LoadedSigningKey? TryEc(string text)
    {
        var ecdsa = ECDsa.Create();
        if (!TryImport(text, t => ecdsa.ImportFromPem(t), b => ecdsa.ImportPkcs8PrivateKey(b, out _)))
        {
            ecdsa.Dispose();
            return null;
        }

        var algorithm = ecdsa.KeySize switch
        {
            256 => SecurityAlgorithms.EcdsaSha256,
            384 => SecurityAlgorithms.EcdsaSha384,
            _ => SecurityAlgorithms.EcdsaSha512,
        };
        return new LoadedSigningKey(new ECDsaSecurityKey(ecdsa), algorithm, ecdsa);
    }

    private static LoadedSigningKey? TryRsa(string text)
    {
        var rsa = RSA.Create();
        if (!TryImport(text, t => rsa.ImportFromPem(t), b => rsa.ImportPkcs8PrivateKey(b, out _)))
        {
            rsa.Dispose();
            return null;
        }

        return new LoadedSigningKey(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256, rsa);
    }

    private static bool TryImport(string text, Action<string> importPem, Action<byte[]> importPkcs8)
    {
        try
        {
            if (text.Contains("-----BEGIN", StringComparison.Ordinal))
            {
                importPem(text);
            }
            else
            {
                importPkcs8(Convert.FromBase64String(text.Trim()));
            }

            return true;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or FormatException)
        {
            return false;
        }
    }
}
