using System.Security.Cryptography;
using System.Text;
using CsCheck;
using OcpTalkdesk.Gateway.InboundAuth;

namespace OcpTalkdesk.Gateway.Tests.InboundAuth;

/// <summary>The comparison of presented secrets with configured ones, plain and <c>sha256:</c>.</summary>
public sealed class ConfiguredSecretTests
{
    [Theory]
    [InlineData("bench-inbound-key-0001", true)]
    [InlineData("bench-inbound-key-000", false)] // a prefix: the zero padding must not make it equal
    [InlineData("bench-inbound-key-00010", false)]
    [InlineData("bench-inbound-key-0002", false)]
    [InlineData("BENCH-INBOUND-KEY-0001", false)]
    [InlineData("", false)]
    public void A_plain_key_matches_only_itself(string presented, bool matches) =>
        Assert.Equal(matches, ConfiguredSecret.MatchesAny(presented, [ConfiguredSecret.Of("bench-inbound-key-0001")]));

    [Fact]
    public void A_prefix_padded_with_zero_bytes_is_not_the_key() =>
        Assert.False(ConfiguredSecret.MatchesAny("key\0\0", [ConfiguredSecret.Of("key")])
            || ConfiguredSecret.MatchesAny("key", [ConfiguredSecret.Of("key\0\0")]));

    [Fact]
    public void A_hashed_key_matches_what_hashes_to_it_and_nothing_else()
    {
        var configured = ConfiguredSecret.Of("sha256:" + Convert.ToHexString(SHA256.HashData("s3cret-ključ"u8)));
        Assert.True(configured.IsHashed);
        Assert.True(ConfiguredSecret.MatchesAny("s3cret-ključ", [configured]));
        Assert.False(ConfiguredSecret.MatchesAny("s3cret-kljuc", [configured]));
        // The hash itself presented as the key is not the key.
        Assert.False(ConfiguredSecret.MatchesAny(Convert.ToHexString(SHA256.HashData("s3cret-ključ"u8)), [configured]));
    }

    [Fact]
    public void Any_of_several_keys_of_either_kind_matches()
    {
        IReadOnlyList<ConfiguredSecret> keys =
        [
            ConfiguredSecret.Of("old-key-0123456789"),
            ConfiguredSecret.Of("sha256:" + Convert.ToHexString(SHA256.HashData("hashed-key-0123456789"u8))),
            ConfiguredSecret.Of(new string('x', 600)),
        ];
        Assert.True(ConfiguredSecret.MatchesAny("old-key-0123456789", keys));
        Assert.True(ConfiguredSecret.MatchesAny("hashed-key-0123456789", keys));
        Assert.True(ConfiguredSecret.MatchesAny(new string('x', 600), keys));
        Assert.False(ConfiguredSecret.MatchesAny(new string('x', 599), keys));
        Assert.False(ConfiguredSecret.MatchesAny(new string('x', 601), keys));
        Assert.False(ConfiguredSecret.MatchesAny("new-key-0123456789", keys));
        Assert.False(ConfiguredSecret.MatchesAny("old-key-0123456789", []));
    }

    [Fact]
    public void Sha256_prefixed_text_that_is_not_64_hex_digits_is_a_plain_key()
    {
        var configured = ConfiguredSecret.Of("sha256:short");
        Assert.False(configured.IsHashed);
        Assert.True(ConfiguredSecret.MatchesAny("sha256:short", [configured]));
    }

    [Fact]
    public void Plain_and_hashed_comparisons_agree_with_string_equality() =>
        Gen.Select(Gen.String, Gen.String, Gen.Bool).Sample((configured, other, same) =>
        {
            var presented = same ? configured : other;
            var expected = Encoding.UTF8.GetBytes(presented).AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(configured));
            var hashed = ConfiguredSecret.Of("sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(configured))));
            return ConfiguredSecret.MatchesAny(presented, [ConfiguredSecret.Of(configured)]) == expected
                && ConfiguredSecret.MatchesAny(presented, [hashed]) == expected;
        });
}
