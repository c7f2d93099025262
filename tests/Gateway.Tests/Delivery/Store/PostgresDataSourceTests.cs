using Npgsql;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>The store's Npgsql defaults (automatic preparation, no reset on close) apply unless the operator's connection string sets them.</summary>
public sealed class PostgresDataSourceTests
{
    [Fact]
    public async Task The_store_s_defaults_apply_to_a_plain_connection_string()
    {
        await using var source = PostgresDeliveryStore.DataSourceFor("Host=127.0.0.1;Username=gateway");
        var settings = new NpgsqlConnectionStringBuilder(source.ConnectionString);

        Assert.True(settings.NoResetOnClose);
        Assert.Equal(64, settings.MaxAutoPrepare);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;No Reset On Close=false;Max Auto Prepare=0")]
    [InlineData("Host=127.0.0.1;NoResetOnClose=false;MaxAutoPrepare=0")]
    public async Task The_operator_s_own_settings_win(string connectionString)
    {
        await using var source = PostgresDeliveryStore.DataSourceFor(connectionString);
        var settings = new NpgsqlConnectionStringBuilder(source.ConnectionString);

        Assert.False(settings.NoResetOnClose);
        Assert.Equal(0, settings.MaxAutoPrepare);
    }
}
